package dev.moeadapter.spring.web.openai;

/** What every completion object and chunk of one answer starts with: its id, creation time (epoch seconds), model. */
record Stamp(String id, long created, String model) {
}
