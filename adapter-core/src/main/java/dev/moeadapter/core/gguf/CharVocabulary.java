package dev.moeadapter.core.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * A character-level SentencePiece ("llama" tokenizer model) vocabulary that stock llama.cpp loads and
 * tokenizes with: 354 tokens — 0 {@code <unk>}, 1 {@code <s>}, 2 {@code </s>}, 3..258 byte tokens
 * {@code <0x00>..<0xFF>}, 259 {@code ▁}, 260..353 the printable ASCII characters 0x21..0x7E.
 *
 * <p>llama.cpp adds BOS and a leading space, so "Hello world" tokenizes to
 * {@code <s> ▁ H e l l o ▁ w o r l d}; any other character falls back to its UTF-8 bytes.
 * Used by the test models and by the lab models, whose trainer must tokenize exactly as llama.cpp does.
 */
public final class CharVocabulary {

    public static final int UNK = 0, BOS = 1, EOS = 2;
    public static final int FIRST_BYTE_TOKEN = 3;
    public static final int SPACE_TOKEN = FIRST_BYTE_TOKEN + 256; // "▁" (U+2581)
    public static final int FIRST_CHAR_TOKEN = SPACE_TOKEN + 1;    // '!' (0x21)
    public static final int SIZE = FIRST_CHAR_TOKEN + (0x7E - 0x21 + 1);

    /** ChatML; contains "<|im_start|>" so llama_chat_apply_template detects it as chatml. */
    public static final String CHATML_TEMPLATE =
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                    + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final List<String> TOKENS = buildTokens();

    private CharVocabulary() {}

    /** The token strings, in id order. */
    public static List<String> tokens() { return TOKENS; }

    /** Token id of a printable ASCII character or space (SentencePiece maps ' ' to "▁"). */
    public static int charToken(char c) {
        if (c == ' ' || c == '\u2581') return SPACE_TOKEN;
        if (c >= 0x21 && c <= 0x7E) return FIRST_CHAR_TOKEN + (c - 0x21);
        throw new IllegalArgumentException("no character token for U+" + Integer.toHexString(c) + "; it byte-falls-back");
    }

    /** Token id of a byte-fallback token {@code <0xNN>}. */
    public static int byteToken(int b) {
        if (b < 0 || b > 255) throw new IllegalArgumentException("byte out of range: " + b);
        return FIRST_BYTE_TOKEN + b;
    }

    /**
     * What llama.cpp's tokenizer gives for printable-ASCII {@code text} with BOS added: BOS, the
     * leading "▁", then one token per character.
     */
    public static int[] tokenize(String text) {
        int[] out = new int[text.length() + 2];
        out[0] = BOS;
        out[1] = SPACE_TOKEN;
        for (int i = 0; i < text.length(); i++) out[i + 2] = charToken(text.charAt(i));
        return out;
    }

    /** Writes the tokenizer block (and a ChatML chat template) into a GGUF's metadata. */
    public static GgufWriter addTo(GgufWriter w) {
        int n = TOKENS.size();
        float[] scores = new float[n];
        int[] types = new int[n];
        types[UNK] = 2;                        // UNKNOWN
        types[BOS] = types[EOS] = 3;           // CONTROL
        for (int i = FIRST_BYTE_TOKEN; i < SPACE_TOKEN; i++) types[i] = 6; // BYTE
        for (int i = SPACE_TOKEN; i < n; i++) {
            types[i] = 1;                      // NORMAL
            scores[i] = -(i - SPACE_TOKEN);    // only single characters exist, so scores never drive a merge
        }
        return w.putString("tokenizer.ggml.model", "llama")
                .putStringArray("tokenizer.ggml.tokens", TOKENS)
                .putFloat32Array("tokenizer.ggml.scores", scores)
                .putInt32Array("tokenizer.ggml.token_type", types)
                .putUInt32("tokenizer.ggml.bos_token_id", BOS)
                .putUInt32("tokenizer.ggml.eos_token_id", EOS)
                .putUInt32("tokenizer.ggml.unknown_token_id", UNK)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", false)
                .putBool("tokenizer.ggml.add_space_prefix", true)
                .putString("tokenizer.chat_template", CHATML_TEMPLATE);
    }

    private static List<String> buildTokens() {
        List<String> t = new ArrayList<>(SIZE);
        t.add("<unk>");
        t.add("<s>");
        t.add("</s>");
        for (int b = 0; b < 256; b++) t.add(String.format(Locale.ROOT, "<0x%02X>", b));
        t.add("\u2581");
        for (char c = 0x21; c <= 0x7E; c++) t.add(String.valueOf(c));
        return Collections.unmodifiableList(t);
    }
}
