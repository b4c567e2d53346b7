package dev.moeadapter.spring.web;

import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.spring.web.security.CallerIdentity;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The native generation endpoint. With {@code "stream": true} the answer arrives as server-sent
 * events: {@code {"type":"token","text":…}} per piece of text, then {@code {"type":"done",…}}
 * with the full response, then {@code [DONE]}; each event is flushed as it is sent. A refusal before
 * the first event has the status it would have unstreamed; a failure after it is an
 * {@code {"type":"error",…}} event. A streaming client that disconnects cancels its generation.
 * With {@code routing_trace}, each event carries the routing rows that produced its text (the
 * done event the rows left, e.g. the one that produced the end of generation).
 * The caller ({@link CallerIdentity}) stays on one arm of its policy.
 */
@RestController
public class GenerationController {
    private final GenerationService service;
    private final CallerIdentity callers;
    private final AsyncAnswers answers;

    public GenerationController(GenerationService service, CallerIdentity callers, AsyncAnswers answers) {
        this.service = service;
        this.callers = callers;
        this.answers = answers;
    }

    @PostMapping(path = "/v1/moe/generate", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> generate(@RequestBody byte[] bytes, HttpServletRequest http,
                                                         HttpServletResponse httpResponse) {
        GenerateRequest body = RequestBodies.read(bytes, GenerateRequest.class);
        GenerationCommand command = body.toCommand(callers.of(http));
        GenerationService.Prepared prepared = service.prepare(command, callers.key(http), ClientDeparture.of(http));
        RequestIdHeader.answer(httpResponse, prepared.id());
        if (!body.streaming()) {
            return answers.whole(http, httpResponse, (listener, cancel) -> {
                try (prepared) {
                    return GenerateResponse.of(prepared.run(listener, cancel));
                }
            });
        }
        return answers.stream(http, httpResponse, events -> {
            try (prepared) {
                var outcome = prepared.run((token, text) -> events.send(withRouting(prepared, Map.of("type", "token", "text", text))),
                        events.cancel());
                if (events.takesEvents()) {
                    events.send(withRouting(prepared, Map.of("type", "done", "response", GenerateResponse.streamed(outcome))));
                    events.done();
                }
            }
        }, (events, e) -> events.send(Map.of("type", "error", "error", ApiErrors.body("server_error", null, "server_error",
                String.valueOf(e.getMessage())).get("error"))));
    }

    /** The event with the routing rows not sent yet, if any. */
    private static Map<String, Object> withRouting(GenerationService.Prepared prepared, Map<String, Object> event) {
        RoutingTrace rows = RoutingTrace.of(prepared.takeRouting());
        if (rows == null) {
            return event;
        }
        Map<String, Object> e = new LinkedHashMap<>(event);
        e.put("routing_trace", rows);
        return e;
    }

    /**
     * The model, the adaptations available (names, as before) and each one's settings: name, type,
     * accepted values, range, default and meaning (null for an application's own strategy, which
     * describes none), the adaptations present but unavailable here, and those this model cannot run
     * (a request naming one gets a 400), each with the reason.
     */
    @GetMapping("/v1/moe/info")
    public Map<String, Object> info() {
        var i = service.model().info();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", service.model().path().getFileName().toString());
        body.put("architecture", i.architecture());
        body.put("layers", i.layers());
        body.put("moe_layers", i.moeLayers());
        body.put("experts", i.experts());
        body.put("experts_used", i.expertsUsed());
        body.put("gating", i.gating().name().toLowerCase());
        body.put("renormalized", i.renormalized());
        body.put("memory", i.memory().name().toLowerCase());
        body.put("adaptations", List.copyOf(service.strategies().names()));
        Map<String, Object> settings = new LinkedHashMap<>();
        for (AdaptationRegistry.Entry e : service.strategies().entries()) {
            settings.put(e.name(), e.schema().map(s -> s.specs().stream().map(SettingSpec::describe).toList()).orElse(null));
        }
        body.put("adaptation_settings", settings);
        body.put("unavailable_adaptations", service.strategies().unavailable());
        Map<String, String> refused = new LinkedHashMap<>();
        for (AdaptationRegistry.Entry e : service.strategies().entries()) {
            e.strategy().requirements().refusal(i).ifPresent(why -> refused.put(e.name(), why));
        }
        body.put("refused_by_model", refused);
        var c = service.capacity();
        body.put("capacity", Map.ofEntries(Map.entry("sessions", c.sessions()), Map.entry("wide_sessions", service.wideSessions()),
                Map.entry("sequences_per_session", c.sequencesPerSession()), Map.entry("kv_cells_per_session", c.kvCellsPerSession()),
                Map.entry("kv_cells_per_sequence", c.kvCellsPerSequence()), Map.entry("kv_cells", service.kvCells()),
                Map.entry("threads_per_decode", c.threadsPerDecode()), Map.entry("threads_per_single_row_decode", c.threadsPerSingleRowDecode()),
                Map.entry("flash_attention", c.flashAttention().name().toLowerCase()), Map.entry("kv_cache_type", c.kvCache().name().toLowerCase()),
                Map.entry("kv_layout", c.kvLayout().name().toLowerCase().replace('_', '-'))));
        body.put("admission", admission(service.admissionStats()));
        service.wideAdmissionStats().ifPresent(w -> body.put("wide_admission", admission(w)));
        service.decodeLoop().ifPresent(loop -> {
            var b = loop.stats();
            body.put("batching", Map.ofEntries(Map.entry("steps", b.steps()), Map.entry("rows", b.rows()), Map.entry("lane_rows", loop.laneRows()),
                    Map.entry("max_step_rows", b.maxStepRows()), Map.entry("max_lane_rows", b.maxLaneRows()),
                    Map.entry("max_steps_waited", b.maxStepsWaited()), Map.entry("lanes_held", b.lanesHeld()),
                    Map.entry("lanes_waiting", b.lanesWaiting()), Map.entry("reused_prompt_tokens", b.reusedTokens()),
                    Map.entry("rows_ahead", b.rowsAhead()), Map.entry("picks_unclaimed", b.picksUnclaimed()),
                    Map.entry("busy_ms", b.busy().toMillis()), Map.entry("stalled_ms", b.stalled().toMillis()),
                    Map.entry("free_sequences", loop.freeSequences())));
        });
        return body;
    }

    private static Map<String, Object> admission(Admission.Stats a) {
        return Map.of("permits", a.permits(), "in_use", a.inUse(), "waiting", a.waiting(), "max_waiting", a.maxWaiting(),
                "admitted", a.admitted(), "refused", a.refused(), "departed", a.departed(),
                "mean_wait_ms", a.admitted() == 0 ? 0.0 : a.waited().toNanos() / 1e6 / a.admitted());
    }

}
