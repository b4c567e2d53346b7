# The service as a container image (see README, "Deploying"):
#   docker build -t moe-adapter .
#   docker run -p 8080:8080 -v moe-data:/data moe-adapter                           # the embedded lab model
#   docker run -p 8080:8080 -v /models:/models:ro -v moe-data:/data moe-adapter --moe.adapter.model=/models/F.gguf
# Stage 1 builds the executable jar as ./moe does (JDK 25, g++ for the shim, npm and git to fetch llama.cpp).
FROM eclipse-temurin:25-jdk AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ git npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./mvnw -B -ntp -pl samples -am -DskipTests package && cp samples/target/samples-*-exec.jar /moe-adapter.jar

# Stage 2: a JRE and the jar. The natives need only glibc and libstdc++, which the base image has.
FROM eclipse-temurin:25-jre
RUN useradd --system --home-dir /data --shell /usr/sbin/nologin moe && mkdir -p /data && chown moe /data
COPY --from=build /moe-adapter.jar /app/moe-adapter.jar
USER moe
# the H2 outcome database (./moe-adapter-data) and the unpacked natives live here
WORKDIR /data
ENV MOE_ADAPTER_CACHE=/data/cache
VOLUME /data
EXPOSE 8080
# Kubernetes: livenessProbe GET /actuator/health/liveness, readinessProbe GET /actuator/health/readiness;
# terminationGracePeriodSeconds above spring.lifecycle.timeout-per-shutdown-phase (30s) so streams drain
ENTRYPOINT ["java", "-jar", "/app/moe-adapter.jar"]
