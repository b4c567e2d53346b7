package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/** Answer of {@code GET /v1/models}: the one model this service serves. */
public record ModelList(String object, List<Card> data) {

    ModelList(Card card) {
        this("list", List.of(card));
    }

    /** Answer of {@code GET /v1/models/{id}} (object {@code model}). */
    public record Card(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {
        Card(String id, long created) {
            this(id, "model", created, "moe-adapter");
        }
    }
}
