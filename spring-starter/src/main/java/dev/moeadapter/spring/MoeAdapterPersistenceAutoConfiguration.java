package dev.moeadapter.spring;

import dev.moeadapter.serving.experiment.OutcomeStore;
import dev.moeadapter.spring.experiment.JdbcOutcomeStore;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.simple.JdbcClient;

import javax.sql.DataSource;

/**
 * With a DataSource (Spring Boot's {@code spring.datasource.*}), A/B outcomes go to that database:
 * its schema is migrated by Flyway at startup, with its own history table
 * ({@code moe_adapter_schema_history}) so that it stays apart from an application's own migrations.
 * Replicas may start together: Flyway takes a database lock while it migrates.
 */
@AutoConfiguration(before = MoeAdapterAutoConfiguration.class,
        afterName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnClass({JdbcClient.class, Flyway.class})
@ConditionalOnBean(DataSource.class)
@ConditionalOnProperty(prefix = "moe.adapter", name = "model")
public class MoeAdapterPersistenceAutoConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(MoeAdapterPersistenceAutoConfiguration.class);
    static final String MIGRATIONS = "classpath:dev/moeadapter/spring/db";

    @Bean
    @ConditionalOnMissingBean(OutcomeStore.class)
    public JdbcOutcomeStore moeOutcomeStore(DataSource dataSource) {
        Flyway flyway = Flyway.configure().dataSource(dataSource).locations(MIGRATIONS).table("moe_adapter_schema_history")
                .baselineOnMigrate(true).baselineVersion("0").load();
        var result = flyway.migrate();
        LOG.info("A/B outcomes are kept in the database ({}, schema version {})", result.database, flyway.info().current().getVersion());
        return new JdbcOutcomeStore(JdbcClient.create(dataSource));
    }
}
