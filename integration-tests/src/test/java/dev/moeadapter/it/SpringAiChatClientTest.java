package dev.moeadapter.it;

import dev.moeadapter.spring.ai.MoeAdapterChatModel;
import dev.moeadapter.spring.ai.MoeAdapterChatOptions;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Spring AI's ChatClient over the starter's ChatModel, against the same answers as the HTTP endpoint. */
class SpringAiChatClientTest extends RunningService {
    @Autowired
    ChatModel chatModel;

    private ChatClient.ChatClientRequestSpec prompt(ChatClient client) {
        return client.prompt().system("You are terse.").user("Name a colour.")
                .options(MoeAdapterChatOptions.builder().maxTokens(12).temperature(0.0));
    }

    @Test
    void theStarterProvidesTheChatModel() {
        assertThat(chatModel).isInstanceOf(MoeAdapterChatModel.class);
        assertThat(chatModel.getOptions().getModel()).isEqualTo(MODEL_ID);
    }

    @Test
    void callGivesTheSameAnswerAsTheOpenAiEndpoint() throws Exception {
        ChatResponse r = prompt(ChatClient.create(chatModel)).call().chatResponse();
        HttpResponse<String> http = post("/v1/chat/completions", """
                {"model":"%s","max_tokens":12,"temperature":0,"messages":[
                 {"role":"system","content":"You are terse."},{"role":"user","content":"Name a colour."}]}""".formatted(MODEL_ID));
        JsonNode viaHttp = json(http.body());
        assertThat(r.getResult().getOutput().getText()).isEqualTo(viaHttp.at("/choices/0/message/content").asString());
        assertThat(r.getMetadata().getModel()).isEqualTo(MODEL_ID);
        assertThat(r.getMetadata().getId()).startsWith("gen-");
        assertThat(r.getMetadata().getUsage().getPromptTokens()).isEqualTo(viaHttp.at("/usage/prompt_tokens").asInt());
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isEqualTo(viaHttp.at("/usage/completion_tokens").asInt());
        assertThat(r.getResult().getMetadata().getFinishReason())
                .isEqualTo(viaHttp.at("/choices/0/finish_reason").asString().toUpperCase());
    }

    @Test
    void streamAddsUpToTheCall() {
        ChatClient client = ChatClient.create(chatModel);
        String called = prompt(client).call().content();
        List<String> pieces = prompt(client).stream().content().collectList().block(Duration.ofSeconds(60));
        assertThat(pieces).hasSizeGreaterThan(1);
        assertThat(String.join("", pieces)).isEqualTo(called);
        List<ChatResponse> responses = prompt(client).stream().chatResponse().collectList().block(Duration.ofSeconds(60));
        ChatResponse last = responses.getLast();
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isPositive();
        assertThat(last.getResult().getMetadata().getFinishReason()).isIn("STOP", "LENGTH");
    }

    @Test
    void optionsChooseTheArmAndBadOptionsAreRefused() {
        ChatResponse r = ChatClient.create(chatModel).prompt().user("hi")
                .options(MoeAdapterChatOptions.builder().maxTokens(6).arm("scmoe")).call().chatResponse();
        assertThat(r.getMetadata().<String>get("arm")).isEqualTo("scmoe");
        assertThat(r.getMetadata().<String>get("adaptation")).isEqualTo("scmoe");
        assertThat(r.getMetadata().<String>get("policy")).isEqualTo("default");
        assertThatThrownBy(() -> ChatClient.create(chatModel).prompt().user("hi")
                .options(MoeAdapterChatOptions.builder().maxTokens(100_000)).call().content())
                .hasMessageContaining("max_tokens must be in 1..64");
        assertThatThrownBy(() -> ChatClient.create(chatModel).prompt().user("hi")
                .options(MoeAdapterChatOptions.builder().model("gpt-4o")).call().content())
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> ChatClient.create(chatModel).prompt().user("hi")
                .options(MoeAdapterChatOptions.builder().arm("magic")).stream().content().blockLast(Duration.ofSeconds(60)))
                .hasMessageContaining("policy 'default' has no arm 'magic'");
    }
}
