package dev.moeadapter.spring.web.tomcat;

import dev.moeadapter.spring.web.ApiErrors;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.tomcat.util.http.MimeHeaders;
import org.springframework.http.HttpStatus;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.Writer;
import java.util.Collections;

/**
 * Tomcat's report of the errors it answers before any servlet sees the request (a malformed request
 * line, header or URL encoding, an unsupported transfer encoding, an oversized header), in the
 * documented JSON shape instead of Tomcat's HTML page: {@code type} and {@code code} from the status,
 * {@code message} Tomcat's reason, or what its parser refused (shortened).
 */
public class JsonErrorReportValve extends ErrorReportValve {
    private static final int MAX_MESSAGE = 200;

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        HttpStatus known = HttpStatus.resolve(status);
        String reason = known == null ? "HTTP " + status : known.getReasonPhrase();
        String detail = response.getMessage();
        if (detail == null || detail.isBlank()) {
            detail = throwable instanceof IllegalArgumentException parse ? parse.getMessage() // what Tomcat's parser refused
                    : status == 400 ? framingFault(request.getCoyoteRequest()) : null;
        }
        String message = detail == null || detail.isBlank() ? reason
                : reason + ": " + (detail.length() > MAX_MESSAGE ? detail.substring(0, MAX_MESSAGE) + "…" : detail);
        String body = JsonMapper.shared().writeValueAsString(ApiErrors.body(status < 500 ? "invalid_request_error" : "server_error",
                null, ApiErrors.code(status), message));
        try {
            response.setContentType("application/json");
            response.setCharacterEncoding("UTF-8");
            Writer writer = response.getReporter();
            if (writer != null) {
                writer.write(body);
                response.finishResponse();
            }
        } catch (IOException | IllegalStateException e) {
            // the client is gone or the response went out already: nothing to report to
        }
    }

    /**
     * Which of the head's framing rules a bare 400 broke: Tomcat checks them and logs the reason at
     * debug level only, so the client would read just "Bad Request".
     */
    static String framingFault(org.apache.coyote.Request coyote) {
        MimeHeaders headers = coyote.getMimeHeaders();
        int hosts = Collections.list(headers.values("host")).size(), lengths = Collections.list(headers.values("content-length")).size();
        if (hosts > 1) {
            return "several Host headers";
        }
        if (hosts == 0 && "HTTP/1.1".equals(coyote.protocol().toString())) {
            return "an HTTP/1.1 request needs a Host header";
        }
        if (lengths > 1) {
            return "several Content-Length headers";
        }
        if (lengths == 1 && !headers.getHeader("content-length").strip().matches("\\d{1,18}")) {
            return "Content-Length is not a number of bytes";
        }
        return null;
    }
}
