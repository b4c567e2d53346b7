package dev.moeadapter.spring.web;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.MoeAdapterException;
import dev.moeadapter.spring.engine.ModelNotFoundException;
import dev.moeadapter.spring.engine.PoolExhaustedException;
import dev.moeadapter.spring.policy.OverrideNotAllowedException;
import dev.moeadapter.spring.policy.UnknownRequestException;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.Map;

/** Every refusal as JSON {@code {"error": {"message", "type"}}} (the OpenAI error shape). */
@RestControllerAdvice
public class ApiErrors {
    private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);

    @ExceptionHandler(ModelNotFoundException.class)
    ResponseEntity<Map<String, Object>> modelNotFound(ModelNotFoundException e) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND).body(body("invalid_request_error", "model_not_found", e.getMessage()));
    }

    @ExceptionHandler(InvalidRequestException.class)
    ResponseEntity<Map<String, Object>> invalid(InvalidRequestException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", e.getMessage());
    }

    @ExceptionHandler(ContextFullException.class)
    ResponseEntity<Map<String, Object>> contextFull(ContextFullException e) {
        return error(HttpStatus.BAD_REQUEST, "context_length_exceeded", e.getMessage());
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<Map<String, Object>> unreadable(HttpMessageNotReadableException e) {
        String detail = e.getMostSpecificCause() == null ? "" : ": " + firstLine(e.getMostSpecificCause().getMessage());
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", "malformed request body" + detail);
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    ResponseEntity<Map<String, Object>> mediaType(HttpMediaTypeNotSupportedException e) {
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "invalid_request_error", "send the body as application/json");
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    ResponseEntity<Map<String, Object>> method(HttpRequestMethodNotSupportedException e) {
        return error(HttpStatus.METHOD_NOT_ALLOWED, "invalid_request_error", e.getMessage());
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<Map<String, Object>> notFound(NoResourceFoundException e) {
        return error(HttpStatus.NOT_FOUND, "invalid_request_error", "unknown request URL: " + e.getHttpMethod() + " /" + e.getResourcePath());
    }

    @ExceptionHandler(PoolExhaustedException.class)
    ResponseEntity<Map<String, Object>> busy(PoolExhaustedException e) {
        long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).header(HttpHeaders.RETRY_AFTER, Long.toString(seconds))
                .body(body("server_busy", e.getMessage()));
    }

    @ExceptionHandler(OverrideNotAllowedException.class)
    ResponseEntity<Map<String, Object>> overrideDenied(OverrideNotAllowedException e) {
        return error(HttpStatus.FORBIDDEN, "permission_error", e.getMessage());
    }

    @ExceptionHandler(UnknownRequestException.class)
    ResponseEntity<Map<String, Object>> unknownRequest(UnknownRequestException e) {
        return error(HttpStatus.NOT_FOUND, "not_found_error", e.getMessage());
    }

    @ExceptionHandler(MoeAdapterException.class)
    ResponseEntity<Map<String, Object>> engine(MoeAdapterException e) {
        LOG.error("generation failed", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", e.getMessage());
    }

    private static ResponseEntity<Map<String, Object>> error(HttpStatus status, String type, String message) {
        return ResponseEntity.status(status).body(body(type, message));
    }

    private static Map<String, Object> body(String type, String message) {
        return Map.of("error", Map.of("message", message == null ? type : message, "type", type));
    }

    private static Map<String, Object> body(String type, String code, String message) {
        return Map.of("error", Map.of("message", message, "type", type, "code", code));
    }

    /** Writes the same error shape from a servlet filter, where no controller advice applies. */
    public static void write(HttpServletResponse response, HttpStatus status, String type, String code, String message)
            throws IOException {
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.getOutputStream().write(JsonMapper.shared().writeValueAsBytes(body(type, code, message)));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
