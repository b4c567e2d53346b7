package dev.moeadapter.it;

import com.openai.core.JsonValue;
import com.openai.core.RequestOptions;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * OpenAI's official Java client, unchanged, against the OpenAI-compatible endpoints. The client
 * validates every response against OpenAI's schema, so a missing or mistyped field fails the test.
 */
class OpenAiSdkTest extends OfficialOpenAiClient {

    private ChatCompletionCreateParams.Builder chat() {
        return ChatCompletionCreateParams.builder().model(MODEL_ID).addSystemMessage("You are terse.")
                .addUserMessage("Name a colour.").maxCompletionTokens(12).temperature(0.0);
    }

    private CompletionCreateParams.Builder completion() {
        return CompletionCreateParams.builder().model(MODEL_ID).prompt("Once upon a time").maxTokens(12).temperature(0.0);
    }

    @Test
    void listsAndRetrievesTheServedModel() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly(MODEL_ID);
        assertThat(models.getFirst().ownedBy()).isEqualTo("moe-adapter");
        assertThat(client.models().retrieve(MODEL_ID).id()).isEqualTo(MODEL_ID);
        assertThatThrownBy(() -> client.models().retrieve("gpt-4o")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(chat().build());
        assertThat(c.id()).isNotBlank();
        assertThat(c.model()).isEqualTo(MODEL_ID);
        assertThat(c.choices()).hasSize(1);
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertThat(choice.finishReason()).isIn(ChatCompletion.Choice.FinishReason.STOP, ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(choice.message().content()).isPresent();
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.promptTokens()).isGreaterThan(10); // the chat template wraps the two messages
        assertThat(usage.completionTokens()).isBetween(1L, 12L);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
        if (choice.finishReason() == ChatCompletion.Choice.FinishReason.LENGTH) {
            assertThat(usage.completionTokens()).isEqualTo(12);
        }
    }

    @Test
    void streamedChatAddsUpToThePlainAnswer() {
        String plain = client.chat().completions().create(chat().build()).choices().getFirst().message().content().orElseThrow();
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                chat().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            chunks = stream.stream().toList();
        }
        chunks.forEach(ch -> ch.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
        assertThat(text.toString()).isEqualTo(plain);
        assertThat(chunks).extracting(ChatCompletionChunk::id).containsOnly(chunks.getFirst().id());
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
        assertThat(chunks).filteredOn(ch -> !ch.choices().isEmpty() && ch.choices().getFirst().finishReason().isPresent()).hasSize(1);
        ChatCompletionChunk last = chunks.getLast();
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage().orElseThrow().completionTokens()).isPositive();
    }

    @Test
    void textCompletionPlainAndStreamed() {
        Completion plain = client.completions().create(completion().build());
        assertThat(plain.model()).isEqualTo(MODEL_ID);
        assertThat(plain.choices()).hasSize(1);
        assertThat(plain.usage().orElseThrow().completionTokens()).isBetween(1L, 12L);
        // like OpenAI, chunks before the last carry "finish_reason": null, which the client's strict
        // schema check of text_completion objects refuses; chat chunks are checked above
        List<Completion> chunks;
        try (StreamResponse<Completion> stream = client.completions().createStreaming(
                completion().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build(),
                RequestOptions.builder().responseValidation(false).build())) {
            chunks = stream.stream().toList();
        }
        StringBuilder text = new StringBuilder();
        chunks.forEach(ch -> ch.choices().forEach(c -> text.append(c.text())));
        assertThat(text.toString()).isEqualTo(plain.choices().getFirst().text());
        assertThat(chunks).filteredOn(ch -> ch.usage().isPresent()).hasSize(1);
        assertThat(chunks.getLast().usage().orElseThrow().totalTokens()).isEqualTo(plain.usage().orElseThrow().totalTokens());
        Completion finish = chunks.get(chunks.size() - 2);
        assertThat(finish.choices().getFirst().finishReason()).isEqualTo(plain.choices().getFirst().finishReason());
    }

    @Test
    void stopStringsEndTheAnswerWithFinishReasonStop() {
        String plain = client.completions().create(completion().maxTokens(24).build()).choices().getFirst().text();
        assertThat(plain).hasSizeGreaterThan(2);
        String stop = plain.substring(1, 2);
        Completion cut = client.completions().create(completion().maxTokens(24).stop(stop).build());
        assertThat(cut.choices().getFirst().text()).isEqualTo(plain.substring(0, plain.indexOf(stop)));
        assertThat(cut.choices().getFirst().finishReason().asString()).isEqualTo("stop");
    }

    @Test
    void theArmExtensionPassesThroughTheClient() {
        ChatCompletion c = client.chat().completions().create(chat().putAdditionalBodyProperty("arm", JsonValue.from("scmoe")).build());
        assertThat(c.choices().getFirst().message().content()).isPresent();
        assertThatThrownBy(() -> client.chat().completions().create(chat().putAdditionalBodyProperty("arm", JsonValue.from("magic")).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage()).contains("policy 'default' has no arm 'magic'"));
    }

    @Test
    void unknownModelIsModelNotFound() {
        assertThatThrownBy(() -> client.chat().completions().create(chat().model("gpt-4o").build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.code()).hasValue("model_not_found"));
    }
}
