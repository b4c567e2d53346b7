package dev.moeadapter.spring.web.openai;

import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.serving.generation.ModelNotFoundException;
import dev.moeadapter.spring.web.ApiErrors;
import dev.moeadapter.spring.web.EventStream;
import dev.moeadapter.spring.web.AsyncAnswers;
import dev.moeadapter.spring.web.ClientDeparture;
import dev.moeadapter.spring.web.RequestBodies;
import dev.moeadapter.spring.web.RequestIdHeader;
import dev.moeadapter.spring.web.RoutingTrace;
import dev.moeadapter.spring.web.security.CallerIdentity;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * OpenAI-compatible endpoints, so that OpenAI's clients work unchanged: {@code /v1/chat/completions},
 * {@code /v1/completions} (both with {@code "stream": true} as server-sent events ending in
 * {@code [DONE]}), {@code /v1/responses} (its stream as named events) and {@code /v1/models}.
 * Requests name the model by its id from {@code /v1/models}; nothing in a request names a file. Every request goes through the {@link GenerationService} like
 * the native endpoint's: its policy assigns the arm, sticky per caller ({@link CallerIdentity}).
 */
@RestController
public class OpenAiController {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiController.class);

    private final GenerationService service;
    private final CallerIdentity callers;
    private final AsyncAnswers answers;
    private final long loaded = Instant.now().getEpochSecond();

    public OpenAiController(GenerationService service, CallerIdentity callers, AsyncAnswers answers) {
        this.service = service;
        this.callers = callers;
        this.answers = answers;
    }

    @GetMapping("/v1/models")
    public ModelList models() {
        return new ModelList(card());
    }

    @GetMapping("/v1/models/{id}")
    public ModelList.Card model(@PathVariable("id") String id) {
        if (!id.equals(service.modelId())) {
            throw new ModelNotFoundException(id, service.modelId());
        }
        return card();
    }

    @PostMapping(path = "/v1/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> chatCompletions(@RequestBody byte[] bytes, HttpServletRequest http,
                                                                 HttpServletResponse response) {
        ChatCompletionRequest body = RequestBodies.read(bytes, ChatCompletionRequest.class);
        body.check(service.modelId());
        return answer(body, body.toCommand(callers.of(http)), CompletionFormat.CHAT, http, response);
    }

    @PostMapping(path = "/v1/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> completions(@RequestBody byte[] bytes, HttpServletRequest http,
                                                             HttpServletResponse response) {
        CompletionRequest body = RequestBodies.read(bytes, CompletionRequest.class);
        body.check(service.modelId());
        return answer(body, body.toCommand(callers.of(http)), CompletionFormat.TEXT, http, response);
    }

    /** OpenAI's Responses API, text in and text out (see {@link ResponseRequest}). */
    @PostMapping(path = "/v1/responses", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<StreamingResponseBody> responses(@RequestBody byte[] bytes, HttpServletRequest http,
                                                           HttpServletResponse response) {
        ResponseRequest body = RequestBodies.read(bytes, ResponseRequest.class);
        body.check(service.modelId());
        GenerationCommand command = body.toCommand(callers.of(http));
        long created = Instant.now().getEpochSecond();
        GenerationService.Prepared prepared;
        try {
            prepared = service.prepare(command, callers.key(http), ClientDeparture.of(http));
        } catch (BadParameterException e) {
            throw body.inOwnWords(e);
        }
        RequestIdHeader.answer(response, prepared.id());
        ResponseObject.Draft draft = new ResponseObject.Draft(prepared.id(), created, service.modelId(), body);
        if (!body.streaming()) {
            return answers.wholeAsOpenAi(http, response, (listener, cancel) -> {
                try (prepared) {
                    GenerationOutcome o = prepared.run(listener, cancel);
                    return draft.done(o, RoutingTrace.of(o.routedExperts()));
                }
            });
        }
        AtomicReference<ResponseEvents> sent = new AtomicReference<>(); // a late failure's event goes on with its numbering
        return answers.stream(http, response, events -> {
            try (prepared) {
                ResponseEvents out = new ResponseEvents(events, draft);
                sent.set(out);
                GenerationOutcome o = prepared.run((token, text) -> out.delta(text, RoutingTrace.of(prepared.takeRouting())), events.cancel());
                out.finish(o, RoutingTrace.of(prepared.takeRouting()));
            }
        }, (events, e) -> {
            LOG.warn("{}: streamed response failed: {}", draft.id(), e.toString());
            Objects.requireNonNullElseGet(sent.get(), () -> new ResponseEvents(events, draft)).error(String.valueOf(e.getMessage()));
        });
    }

    private ModelList.Card card() {
        return new ModelList.Card(service.modelId(), loaded);
    }

    private ResponseEntity<StreamingResponseBody> answer(OpenAiRequest body, GenerationCommand command, CompletionFormat format,
                                                         HttpServletRequest request, HttpServletResponse response) {
        long created = Instant.now().getEpochSecond();
        // refusals (bad input, no free session) happen here, before the 200 is committed
        GenerationService.Prepared prepared;
        try {
            prepared = service.prepare(command, callers.key(request), ClientDeparture.of(request));
        } catch (BadParameterException e) {
            throw body.inOwnWords(e);
        }
        RequestIdHeader.answer(response, prepared.id());
        if (!body.streaming()) {
            return answers.wholeAsOpenAi(request, response, (listener, cancel) -> {
                try (prepared) {
                    GenerationOutcome o = prepared.run(listener, cancel);
                    return format.whole(new Stamp(o.id(), created, service.modelId()), o);
                }
            });
        }
        Stamp stamp = new Stamp(prepared.id(), created, service.modelId(), body.includeUsage());
        return answers.stream(request, response, events -> {
            try (prepared) {
                // the opening chunk goes with the first text, so that a refusal until then keeps its status
                AtomicBoolean opened = new AtomicBoolean();
                Runnable open = () -> {
                    if (opened.compareAndSet(false, true)) {
                        send(events, format.opening(stamp));
                    }
                };
                GenerationOutcome o = prepared.run((token, text) -> {
                    open.run();
                    events.send(format.delta(stamp, text, RoutingTrace.of(prepared.takeRouting())));
                }, events.cancel());
                open.run();
                send(events, format.finish(stamp, FinishReasons.of(o), RoutingTrace.of(prepared.takeRouting())));
                if (body.includeUsage()) {
                    events.send(format.usageChunk(stamp, CompletionFormat.usage(o)));
                }
                events.done();
            }
        }, (events, e) -> {
            LOG.warn("{}: streamed generation failed: {}", stamp.id(), e.toString());
            events.send(ApiErrors.body("server_error", null, "server_error", String.valueOf(e.getMessage())));
        });
    }

    private static void send(EventStream events, Object event) {
        if (event != null) {
            events.send(event);
        }
    }
}
