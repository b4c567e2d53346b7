package dev.moeadapter.spring.web.tomcat;

import org.apache.catalina.Valve;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;

/**
 * Puts {@link JsonErrorReportValve} in the place of Tomcat's error report valve on the host: the one
 * Spring Boot adds, and the one Tomcat's host would add itself where it finds none of its class.
 */
public final class JsonTomcatErrors implements WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory>, Ordered {
    @Override
    public void customize(ConfigurableTomcatWebServerFactory factory) {
        factory.addContextCustomizers(context -> {
            if (context.getParent() instanceof StandardHost host) {
                host.setErrorReportValveClass(JsonErrorReportValve.class.getName());
            }
            for (Valve v : context.getParent().getPipeline().getValves()) {
                if (v instanceof ErrorReportValve && !(v instanceof JsonErrorReportValve)) {
                    context.getParent().getPipeline().removeValve(v);
                }
            }
            context.getParent().getPipeline().addValve(new JsonErrorReportValve());
        });
    }

    /** After Spring Boot's customizer, whose context customizer adds Tomcat's valve. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
