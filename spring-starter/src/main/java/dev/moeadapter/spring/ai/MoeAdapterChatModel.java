package dev.moeadapter.spring.ai;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.serving.generation.ModelNotFoundException;
import dev.moeadapter.spring.web.openai.FinishReasons;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

import java.util.List;
import java.util.Locale;

/**
 * A Spring AI {@link ChatModel} over the served model, so that {@code ChatClient} works on top of
 * it. Each call runs through the same {@link GenerationService} as the REST endpoints (same limits,
 * same session pool, same policies); {@link MoeAdapterChatOptions} may name the policy and the arm.
 * Calls carry no caller, so a policy draws their arm at random by weight.
 */
public class MoeAdapterChatModel implements ChatModel {
    private final GenerationService service;

    public MoeAdapterChatModel(GenerationService service) {
        this.service = service;
    }

    @Override
    public ChatOptions getOptions() {
        return MoeAdapterChatOptions.builder().model(service.modelId()).build();
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        GenerationOutcome o = service.generate(command(prompt), TokenListener.NONE, new CancellationToken());
        return response(o.id(), o.text(), o);
    }

    /**
     * Streams the answer: one response per piece of text, then one with the finish reason and the
     * token counts. Generation runs on a worker thread; cancelling the subscription stops it.
     */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.<ChatResponse>create(sink -> {
            CancellationToken cancel = new CancellationToken();
            sink.onCancel(cancel::cancel);
            try (GenerationService.Prepared prepared = service.prepare(command(prompt))) {
                String id = prepared.id();
                GenerationOutcome o = prepared.run((token, text) -> sink.next(response(id, text, null)), cancel);
                sink.next(response(id, "", o));
                sink.complete();
            } catch (RuntimeException e) {
                sink.error(e);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    private GenerationCommand command(Prompt prompt) {
        List<ChatMessage> messages = prompt.getInstructions().stream().map(MoeAdapterChatModel::toChatMessage).toList();
        ChatOptions o = prompt.getOptions();
        if (o == null) {
            return new GenerationCommand(null, messages, null, null, null, null, null, null, null, null, null, null, null, null);
        }
        if (o.getModel() != null && !o.getModel().equals(service.modelId())) {
            throw new ModelNotFoundException(o.getModel(), service.modelId());
        }
        if (o.getPresencePenalty() != null && o.getPresencePenalty() != 0 || o.getFrequencyPenalty() != null && o.getFrequencyPenalty() != 0) {
            throw new InvalidRequestException("presence and frequency penalties are not supported (leave them unset)");
        }
        MoeAdapterChatOptions ours = o instanceof MoeAdapterChatOptions m ? m : null;
        return new GenerationCommand(null, messages, o.getMaxTokens(), o.getTemperature(), o.getTopK(), o.getTopP(), null,
                ours == null ? null : ours.getSeed(), o.getStopSequences(), ours == null ? null : ours.getPolicy(),
                ours == null ? null : ours.getArm(), null, null, null);
    }

    private static ChatMessage toChatMessage(Message m) {
        return new ChatMessage(m.getMessageType().getValue(), m.getText());
    }

    /** A response with {@code text}; {@code finished} (null while streaming) adds the finish reason, token counts policy, arm and adaptation. */
    private ChatResponse response(String id, String text, GenerationOutcome finished) {
        ChatResponseMetadata.Builder meta = ChatResponseMetadata.builder().id(id).model(service.modelId());
        ChatGenerationMetadata generation = ChatGenerationMetadata.NULL;
        if (finished != null) {
            meta.usage(new DefaultUsage(finished.promptTokens(), finished.completionTokens()))
                    .keyValue("policy", finished.policy()).keyValue("arm", finished.arm())
                    .keyValue("adaptation", finished.adaptation());
            generation = ChatGenerationMetadata.builder()
                    .finishReason(FinishReasons.of(finished).toUpperCase(Locale.ROOT)).build();
        }
        return new ChatResponse(List.of(new Generation(new AssistantMessage(text), generation)), meta.build());
    }
}
