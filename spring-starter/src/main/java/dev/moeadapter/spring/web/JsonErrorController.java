package dev.moeadapter.spring.web;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.Map;

/**
 * The container's error page ({@code /error}: what a filter or the container itself refuses, e.g. a
 * malformed URL) in the documented JSON shape instead of HTML or Spring's own JSON. Asked for
 * directly, {@code /error} is an unknown URL like any other.
 */
@RestController
public class JsonErrorController implements ErrorController {

    @RequestMapping("${server.error.path:/error}")
    public ResponseEntity<Map<String, Object>> error(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        HttpStatusCode status = code instanceof Integer c && c >= 400 ? HttpStatusCode.valueOf(c) : HttpStatus.NOT_FOUND;
        if (!(code instanceof Integer)) {
            return ApiErrors.error(status, "invalid_request_error", null, "unknown_url", "unknown request URL: " + request.getMethod()
                    + " " + request.getRequestURI());
        }
        String message = status.value() == 404 ? "unknown request URL: " + request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI)
                : status instanceof HttpStatus s ? s.getReasonPhrase() : "error " + status.value();
        return ApiErrors.error(status, status.is5xxServerError() ? "server_error" : "invalid_request_error", null,
                status.value() == 404 ? "unknown_url" : ApiErrors.code(status.value()), message);
    }
}
