package dev.moeadapter.spring.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.util.unit.DataSize;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;

/**
 * Refuses request bodies over the configured size with 413. A declared Content-Length is checked
 * before anything is read; a body without one (chunked) is read up to the limit and refused as soon
 * as it passes it, so that no body over the limit reaches the JSON parser. A gzip-coded body is
 * decoded here, and its decoded size is held to the same limit (a small body may inflate a
 * thousandfold); any other content coding is a 415 naming the ones accepted. A body in a charset
 * other than UTF-8, declared in its Content-Type, is transcoded to UTF-8 here (the JSON readers
 * read bytes as UTF-8); a charset Java does not know is a 415, bytes that are not valid in the
 * declared charset a 400, and so are bytes that are not valid UTF-8 where the body is UTF-8 (the JSON
 * reader would take an overlong form for the character it spells).
 */
public class RequestSizeLimit extends OncePerRequestFilter {
    private final long maxBytes;

    public RequestSizeLimit(DataSize max) {
        this.maxBytes = max.toBytes();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        HttpServletRequest admitted;
        try {
            admitted = admit(request, response);
        } catch (Refusal r) {
            ApiErrors.write(response, r.status, "invalid_request_error", r.code, r.getMessage());
            return;
        }
        chain.doFilter(admitted, response);
    }

    /** The request as the JSON readers get it: as it came, or with its body read, decoded and in UTF-8. */
    private HttpServletRequest admit(HttpServletRequest request, HttpServletResponse response) throws IOException, Refusal {
        String coding = contentCoding(request);
        if (coding != null && !coding.equals("gzip")) {
            response.setHeader(HttpHeaders.ACCEPT_ENCODING, "gzip, identity");
            throw new Refusal(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                    "request content coding '" + coding + "' is not supported; send the body as is or gzip-coded");
        }
        String charsetName = declaredCharset(request);
        boolean utf8 = charsetName == null || isUtf8(charsetName);
        long length = request.getContentLengthLong();
        if (length > maxBytes) {
            throw tooLarge("request body of " + length + " bytes exceeds the limit of " + maxBytes + " bytes");
        }
        byte[] body = withinLimit(read(request), "request body exceeds the limit of " + maxBytes + " bytes");
        if (coding != null) {
            body = withinLimit(gunzip(body), "decoded request body exceeds the limit of " + maxBytes + " bytes");
        }
        boolean transcode = !utf8 && body.length > 0; // a body-less request's charset means nothing
        if (transcode) {
            body = withinLimit(toUtf8(body, charsetName), "request body exceeds the limit of " + maxBytes + " bytes in UTF-8");
        } else {
            requireUtf8(body); // Jackson would read an overlong form (C0 AF) as the character it spells ('/')
        }
        return new BufferedBody(request, body, transcode);
    }

    private byte[] read(HttpServletRequest request) throws IOException, Refusal {
        try {
            return upToLimit(request.getInputStream());
        } catch (IOException e) {
            if (!timedOut(e)) {
                throw e;
            }
            // as a stalled body with a Content-Length is answered, not Tomcat's bare 400
            throw new Refusal(HttpStatus.REQUEST_TIMEOUT, "request_timeout", "the request body stopped arriving before its end");
        }
    }

    private byte[] gunzip(byte[] body) throws Refusal {
        try {
            return GzipBody.decode(body, maxBytes);
        } catch (IOException e) { // not gzip, cut short, or followed by other bytes
            throw new Refusal(HttpStatus.BAD_REQUEST, RequestBodies.INVALID_JSON, "request body is not valid gzip: " + e.getMessage());
        }
    }

    private static byte[] toUtf8(byte[] body, String charsetName) throws Refusal {
        Charset charset;
        try {
            charset = Charset.forName(charsetName.strip());
        } catch (IllegalArgumentException e) {
            throw new Refusal(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                    "request charset '" + charsetName + "' is not supported; send UTF-8");
        }
        try {
            CharBuffer text = charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body));
            ByteBuffer utf8 = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT).encode(text);
            return Arrays.copyOf(utf8.array(), utf8.limit());
        } catch (CharacterCodingException e) {
            throw new Refusal(HttpStatus.BAD_REQUEST, RequestBodies.INVALID_JSON,
                    "request body is not valid " + charset.name() + ", the charset its Content-Type declares");
        }
    }

    private static void requireUtf8(byte[] body) throws Refusal {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body));
        } catch (CharacterCodingException e) {
            throw new Refusal(HttpStatus.BAD_REQUEST, RequestBodies.INVALID_JSON, "request body is not valid UTF-8");
        }
    }

    private byte[] withinLimit(byte[] body, String message) throws Refusal {
        if (body.length > maxBytes) {
            throw tooLarge(message);
        }
        return body;
    }

    private static Refusal tooLarge(String message) {
        return new Refusal(HttpStatus.CONTENT_TOO_LARGE, "request_too_large", message);
    }

    /** A request answered here with an error instead of passed on. */
    private static final class Refusal extends Exception {
        final HttpStatus status;
        final String code;

        Refusal(HttpStatus status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    /**
     * The charset named in the Content-Type header as sent: the request's own character encoding may
     * already be forced to UTF-8 by Spring's encoding filter. Null when none is named.
     */
    private static String declaredCharset(HttpServletRequest request) {
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (type == null) {
            return null;
        }
        for (String parameter : type.split(";")) {
            String[] nameValue = parameter.split("=", 2);
            if (nameValue.length == 2 && nameValue[0].strip().equalsIgnoreCase("charset")) {
                return nameValue[1].strip().replaceAll("^\"|\"$", "");
            }
        }
        return null;
    }

    private static boolean isUtf8(String charsetName) {
        try {
            return Charset.forName(charsetName.strip()).equals(StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return false; // unknown: refused once there is a body to read in it
        }
    }

    /**
     * The body's content codings in lower case, in the order applied, from every Content-Encoding header
     * (a list may be split over several): null for none ("identity"), "gzip" (or x-gzip) for gzip alone.
     */
    private static String contentCoding(HttpServletRequest request) {
        List<String> codings = new ArrayList<>();
        for (String header : Collections.list(request.getHeaders(HttpHeaders.CONTENT_ENCODING))) {
            for (String c : header.split(",")) {
                String coding = c.strip().toLowerCase(Locale.ROOT);
                if (!coding.isEmpty() && !coding.equals("identity")) {
                    codings.add(coding.equals("x-gzip") ? "gzip" : coding);
                }
            }
        }
        return codings.isEmpty() ? null : String.join(", ", codings);
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** At most one byte more than the limit: enough to tell that a body passes it. */
    private byte[] upToLimit(InputStream in) throws IOException {
        return in.readNBytes((int) Math.min(maxBytes + 1, Integer.MAX_VALUE - 8));
    }

    /** The request with its body already read (and decoded) into memory. */
    private static final class BufferedBody extends HttpServletRequestWrapper {
        private final byte[] body;
        private final boolean transcoded;

        BufferedBody(HttpServletRequest request, byte[] body, boolean transcoded) {
            super(request);
            this.body = body;
            this.transcoded = transcoded;
        }

        @Override
        public String getCharacterEncoding() {
            return transcoded ? StandardCharsets.UTF_8.name() : super.getCharacterEncoding();
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public String getHeader(String name) {
            if (name.equalsIgnoreCase(HttpHeaders.CONTENT_ENCODING)) {
                return null; // decoded
            }
            if (name.equalsIgnoreCase(HttpHeaders.CONTENT_LENGTH)) {
                return Integer.toString(body.length);
            }
            return super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            if (name.equalsIgnoreCase(HttpHeaders.CONTENT_ENCODING) || name.equalsIgnoreCase(HttpHeaders.CONTENT_LENGTH)) {
                String value = getHeader(name);
                return value == null ? Collections.emptyEnumeration() : Collections.enumeration(List.of(value));
            }
            return super.getHeaders(name);
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }

        @Override
        public ServletInputStream getInputStream() {
            ByteArrayInputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }

                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException("the body is already buffered");
                }
            };
        }

        @Override
        public BufferedReader getReader() {
            String encoding = getCharacterEncoding();
            Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding, StandardCharsets.UTF_8);
            return new BufferedReader(new InputStreamReader(getInputStream(), charset));
        }
    }
}
