package dev.moeadapter.spring.web;

import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.spring.engine.GenerationCommand;
import dev.moeadapter.spring.engine.GenerationService;
import dev.moeadapter.spring.web.security.CallerIdentity;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import tools.jackson.databind.json.JsonMapper;

import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/**
 * The native generation endpoint. With {@code "stream": true} the answer arrives as server-sent
 * events: {@code {"type":"token","text":…}} per piece of text, then {@code {"type":"done",…}}
 * with the full response, then {@code [DONE]}. A client that disconnects cancels its generation.
 * The caller ({@link CallerIdentity}) stays on one arm of its policy.
 */
@RestController
public class GenerationController {
    private final GenerationService service;
    private final JsonMapper json;
    private final CallerIdentity callers;

    public GenerationController(GenerationService service, JsonMapper json, CallerIdentity callers) {
        this.service = service;
        this.json = json;
        this.callers = callers;
    }

    @PostMapping(path = "/v1/moe/generate", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> generate(@RequestBody GenerateRequest body, HttpServletRequest http) {
        GenerationCommand command = body.toCommand(callers.of(http));
        if (!body.streaming()) {
            GenerateResponse response = GenerateResponse.of(service.generate(command, (t, d) -> { }, new CancellationToken()));
            byte[] bytes = json.writeValueAsBytes(response);
            return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(out -> out.write(bytes));
        }
        GenerationService.Prepared prepared = service.prepare(command);
        StreamingResponseBody stream = out -> {
            CancellationToken cancel = new CancellationToken();
            try (prepared) {
                var outcome = prepared.run((token, text) -> send(out, Map.of("type", "token", "text", text), cancel), cancel);
                if (!cancel.isCancelled()) {
                    send(out, Map.of("type", "done", "response", GenerateResponse.of(outcome)), cancel);
                    ServerSentEvents.done(out, cancel);
                }
            } catch (RuntimeException e) {
                send(out, Map.of("type", "error", "error", Map.of("message", String.valueOf(e.getMessage()))), cancel);
            }
        };
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).header("Cache-Control", "no-cache").body(stream);
    }

    @GetMapping("/v1/moe/info")
    public Map<String, Object> info() {
        var i = service.model().info();
        return Map.of("model", service.model().path().getFileName().toString(), "architecture", i.architecture(),
                "layers", i.layers(), "moe_layers", i.moeLayers(), "experts", i.experts(), "experts_used", i.expertsUsed(),
                "gating", i.gating().name().toLowerCase(), "renormalized", i.renormalized(),
                "adaptations", List.copyOf(service.strategies().names()));
    }

    private void send(OutputStream out, Object event, CancellationToken cancel) {
        ServerSentEvents.send(json, out, event, cancel);
    }
}
