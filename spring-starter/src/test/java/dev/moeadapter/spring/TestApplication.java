package dev.moeadapter.spring;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/** An empty application: everything comes from the starter's auto-configuration. */
@SpringBootApplication
public class TestApplication {
}
