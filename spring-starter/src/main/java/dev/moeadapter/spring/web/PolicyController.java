package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.spring.MoeAdapterProperties;
import dev.moeadapter.serving.guard.ArmGuards;
import dev.moeadapter.serving.metrics.ArmStatistics;
import dev.moeadapter.spring.metrics.MoeMetrics;
import dev.moeadapter.serving.experiment.AnswerRecord;
import dev.moeadapter.serving.experiment.ExperimentReport;
import dev.moeadapter.serving.experiment.MixtureSprt;
import dev.moeadapter.serving.experiment.OutcomeStore;
import dev.moeadapter.serving.policy.Assignment;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.policy.OverrideNotAllowedException;
import dev.moeadapter.serving.policy.Policy;
import dev.moeadapter.serving.policy.PolicyRouter;
import dev.moeadapter.spring.web.security.CallerIdentity;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The A/B side of the service: the policies with their arms and per-arm statistics
 * ({@code GET /v1/moe/policies}), the arm a caller is assigned ({@code GET /v1/moe/assignment}, no
 * generation), feedback on an answer ({@code POST /v1/moe/feedback}), and a policy's A/B results
 * ({@code GET /v1/moe/policies/{name}/report}).
 */
@RestController
public class PolicyController {
    private final PolicyRouter router;
    private final ArmGuards guards;
    private final MoeMetrics metrics;
    private final FeedbackLedger ledger;
    private final CallerIdentity callers;
    private final OutcomeStore outcomes;
    private final boolean listed;
    /** The report's error rate: the chance that it declares any difference where there is none. */
    private static final double ALPHA = 0.05;

    public PolicyController(PolicyRouter router, ArmGuards guards, MoeMetrics metrics, FeedbackLedger ledger, OutcomeStore outcomes,
                            CallerIdentity callers, MoeAdapterProperties props) {
        this.outcomes = outcomes;
        this.router = router;
        this.guards = guards;
        this.metrics = metrics;
        this.ledger = ledger;
        this.callers = callers;
        this.listed = !props.security().apiKeys().isEmpty() || props.security().publicPolicies();
    }

    /** Not public: it shows every policy and arm; answered with API keys configured (to a caller with a key) or where allowed. */
    @GetMapping("/v1/moe/policies")
    public Policies policies() {
        checkListed();
        return new Policies(router.defaultPolicy().name(), callers.header(), router.policies().stream().map(this::view).toList());
    }

    /**
     * The policy's A/B results ({@link ExperimentReport}), from the outcome store: shared by the
     * replicas that share it, kept across restarts where it is a database. Visible where the policy
     * list is.
     */
    @GetMapping("/v1/moe/policies/{name}/report")
    public ExperimentReport report(@PathVariable("name") String name) {
        checkListed();
        Policy policy = router.policies().stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new UnknownPolicyException("no policy '" + name + "'; policies: "
                        + router.policies().stream().map(Policy::name).toList()));
        return ExperimentReport.of(policy, outcomes.outcomes(name), MixtureSprt.DEFAULT, ALPHA);
    }

    /** The same report as a page for a browser. */
    @GetMapping(path = "/v1/moe/policies/{name}/report.html", produces = MediaType.TEXT_HTML_VALUE)
    public String reportPage(@PathVariable("name") String name) {
        return ReportPage.html(report(name));
    }

    @GetMapping("/v1/moe/assignment")
    public AssignmentView assignment(@RequestParam(name = "policy", required = false) String policy, HttpServletRequest http) {
        Assignment a = router.assign(policy, callers.of(http), null, StrategySettings.NONE);
        return new AssignmentView(a.policy().name(), a.arm().name(), a.arm().adaptation(), a.basis().name().toLowerCase(Locale.ROOT));
    }

    @PostMapping(path = "/v1/moe/feedback", consumes = MediaType.APPLICATION_JSON_VALUE)
    public Credited feedback(@RequestBody byte[] bytes) {
        FeedbackRequest body = RequestBodies.read(bytes, FeedbackRequest.class);
        AnswerRecord answer = ledger.credit(body.requestId(), body.correct(), body.score());
        return new Credited(body.requestId(), answer.policy(), answer.arm(), answer.answeredBy());
    }

    private void checkListed() {
        if (!listed) {
            throw new OverrideNotAllowedException(null, "the policy list is not public: configure moe.adapter.security.api-keys "
                    + "(callers with a key may read it) or set moe.adapter.security.public-policies=true");
        }
    }

    private PolicyView view(Policy p) {
        double total = p.totalWeight();
        return new PolicyView(p.name(), p.allowOverride(), p.arms().stream().map(a -> new ArmView(a.name(), a.adaptation(), a.weight(),
                a.weight() / total, a.settings().values(), a.timeBudget().toMillis(),
                a.isPlain() ? null : guards.breaker(a).getState().name().toLowerCase(Locale.ROOT), metrics.statistics(a))).toList());
    }

    public record Policies(@JsonProperty("default_policy") String defaultPolicy, @JsonProperty("caller_header") String callerHeader,
                           List<PolicyView> policies) {
    }

    public record PolicyView(String name, @JsonProperty("allow_override") boolean allowOverride, List<ArmView> arms) {
    }

    /**
     * @param share   the arm's share of assignments (weight over the policy's total)
     * @param breaker its circuit breaker's state (closed, open, half_open), null for plain arms
     */
    public record ArmView(String name, String adaptation, double weight, double share, Map<String, Object> settings,
                          @JsonProperty("time_budget_ms") long timeBudgetMs, String breaker, ArmStatistics.Snapshot stats) {
    }

    public record AssignmentView(String policy, String arm, String adaptation, String basis) {
    }

    public record FeedbackRequest(@JsonProperty("request_id") String requestId, Boolean correct, Double score) {
    }

    /** @param adaptation what answered and was credited: the arm's adaptation, or {@code none} after a fallback */
    public record Credited(@JsonProperty("request_id") String requestId, String policy, String arm, String adaptation) {
    }
}
