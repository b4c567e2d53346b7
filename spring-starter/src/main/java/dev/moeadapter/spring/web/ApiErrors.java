package dev.moeadapter.spring.web;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.MoeAdapterException;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.ModelNotFoundException;
import dev.moeadapter.serving.admission.ClientDepartedException;
import dev.moeadapter.serving.admission.PoolExhaustedException;
import dev.moeadapter.serving.policy.OverrideNotAllowedException;
import dev.moeadapter.serving.feedback.UnknownRequestException;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponse;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Every refusal as JSON {@code {"error": {"message", "type", "param", "code"}}} (OpenAI's error
 * shape), whatever the request's {@code Accept} says: a client streaming with
 * {@code Accept: text/event-stream} gets the same error as any other.
 */
@RestControllerAdvice
public class ApiErrors {
    private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);

    @ExceptionHandler(ModelNotFoundException.class)
    ResponseEntity<Map<String, Object>> modelNotFound(ModelNotFoundException e) {
        return error(HttpStatus.NOT_FOUND, "invalid_request_error", "model", "model_not_found", e.getMessage());
    }

    @ExceptionHandler(BadParameterException.class)
    ResponseEntity<Map<String, Object>> badParameter(BadParameterException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", e.param(), e.code(), e.getMessage());
    }

    @ExceptionHandler(InvalidRequestException.class)
    ResponseEntity<Map<String, Object>> invalid(InvalidRequestException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", null, "invalid_request", e.getMessage());
    }

    @ExceptionHandler(ContextFullException.class)
    ResponseEntity<Map<String, Object>> contextFull(ContextFullException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", null, BadParameterException.CONTEXT_LENGTH_EXCEEDED, e.getMessage());
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<Map<String, Object>> unreadable(HttpMessageNotReadableException e) {
        return error(HttpStatus.BAD_REQUEST, "invalid_request_error", null, RequestBodies.INVALID_JSON, "malformed request body");
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    ResponseEntity<Map<String, Object>> mediaType(HttpMediaTypeNotSupportedException e) {
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "invalid_request_error", null, "unsupported_media_type",
                "send the body as application/json");
    }

    /** Every endpoint reads JSON: a multipart body, well-formed or not, is an unsupported type, never a failure. */
    @ExceptionHandler(MultipartException.class)
    ResponseEntity<Map<String, Object>> multipart(MultipartException e) {
        if (e instanceof MaxUploadSizeExceededException) {
            return error(HttpStatus.CONTENT_TOO_LARGE, "invalid_request_error", null, "request_too_large", "the request body is too large");
        }
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "invalid_request_error", null, "unsupported_media_type",
                "send the body as application/json");
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<Map<String, Object>> notFound(NoResourceFoundException e) {
        return error(HttpStatus.NOT_FOUND, "invalid_request_error", null, "unknown_url",
                "unknown request URL: " + e.getHttpMethod() + " /" + e.getResourcePath());
    }

    @ExceptionHandler(PoolExhaustedException.class)
    ResponseEntity<Map<String, Object>> busy(PoolExhaustedException e) {
        long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).header(HttpHeaders.RETRY_AFTER, Long.toString(seconds))
                .contentType(MediaType.APPLICATION_JSON).body(body("server_busy", null, "server_busy", e.getMessage()));
    }

    @ExceptionHandler(OverrideNotAllowedException.class)
    ResponseEntity<Map<String, Object>> overrideDenied(OverrideNotAllowedException e) {
        return error(HttpStatus.FORBIDDEN, "permission_error", e.param(), "not_allowed", e.getMessage());
    }

    @ExceptionHandler(UnknownRequestException.class)
    ResponseEntity<Map<String, Object>> unknownRequest(UnknownRequestException e) {
        return error(HttpStatus.NOT_FOUND, "not_found_error", "request_id", "unknown_request", e.getMessage());
    }

    @ExceptionHandler(UnknownPolicyException.class)
    ResponseEntity<Map<String, Object>> unknownPolicy(UnknownPolicyException e) {
        return error(HttpStatus.NOT_FOUND, "not_found_error", "policy", "unknown_policy", e.getMessage());
    }

    @ExceptionHandler(MoeAdapterException.class)
    ResponseEntity<Map<String, Object>> engine(MoeAdapterException e) {
        LOG.error("generation failed", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", null, "server_error", e.getMessage());
    }

    /** The client went away while its request waited for admission: nobody to answer. */
    @ExceptionHandler(ClientDepartedException.class)
    void departed(ClientDepartedException e) {
        LOG.debug("{}", e.getMessage());
    }

    /** The client went away mid-answer: nobody to answer. */
    @ExceptionHandler(AsyncRequestNotUsableException.class)
    void clientGone() {
    }

    /**
     * Spring MVC's own refusals (wrong method, not acceptable, an answer over its time, …) with their status and
     * headers (a 405's {@code Allow}, a 415's {@code Accept}); anything else is a 500.
     */
    @ExceptionHandler(Exception.class)
    ResponseEntity<Map<String, Object>> unexpected(Exception e) {
        if (e instanceof ErrorResponse refusal) {
            HttpStatusCode status = refusal.getStatusCode();
            String detail = refusal.getBody().getDetail();
            ResponseEntity<Map<String, Object>> answer = error(status, status.is4xxClientError() ? "invalid_request_error" : "server_error",
                    null, code(status.value()), detail == null ? e.getMessage() : detail);
            HttpHeaders headers = new HttpHeaders();
            headers.addAll(refusal.getHeaders());
            headers.setContentType(MediaType.APPLICATION_JSON);
            return new ResponseEntity<>(answer.getBody(), headers, status);
        }
        if (e.getClass().getName().equals(TOMCAT_BAD_PARAMETER)) { // by name: the starter runs on other containers too
            return error(HttpStatus.BAD_REQUEST, "invalid_request_error", null, "invalid_request",
                    "a query or form parameter is not valid percent-encoded UTF-8");
        }
        LOG.error("request failed", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", null, "server_error", "the server failed to answer this request");
    }

    /** What Tomcat throws when a request asks for parameters it cannot decode. */
    private static final String TOMCAT_BAD_PARAMETER = "org.apache.tomcat.util.http.InvalidParameterException";

    /** The error code of a refusal known only by its HTTP status: its name, e.g. {@code method_not_allowed}. */
    public static String code(int status) {
        HttpStatus known = HttpStatus.resolve(status);
        return known == null ? "http_" + status : known.name().toLowerCase(Locale.ROOT);
    }

    /** An error answer; its content type is set, so that no {@code Accept} header can turn it into a 406 or 500. */
    static ResponseEntity<Map<String, Object>> error(HttpStatusCode status, String type, String param, String code, String message) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(body(type, param, code, message));
    }

    /** The error object; {@code param} and {@code code} are null where nothing more specific applies, as in OpenAI's. */
    public static Map<String, Object> body(String type, String param, String code, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", shortened(message == null ? type : message, MAX_MESSAGE));
        error.put("type", type);
        error.put("param", param == null ? null : shortened(param, MAX_PARAM));
        error.put("code", code);
        return Map.of("error", error);
    }

    /** Longest message and param an error carries: they may quote what the client sent (an unknown field's name, an id). */
    static final int MAX_MESSAGE = 1000, MAX_PARAM = 200;

    private static String shortened(String s, int max) {
        if (s.length() <= max) {
            return s;
        }
        int end = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max; // never half a character
        return s.substring(0, end) + "… (" + s.length() + " characters)";
    }

    /** Writes the same error shape from a servlet filter, where no controller advice applies. */
    public static void write(HttpServletResponse response, HttpStatus status, String type, String code, String message)
            throws IOException {
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.getOutputStream().write(JsonMapper.shared().writeValueAsBytes(body(type, null, code, message)));
    }
}
