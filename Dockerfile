# llm-metrics server image.
#   docker build -t llm-metrics .
#   docker run --rm -p 8001:8001 llm-metrics --demo
# The build stage runs `mvn -Dmaven.test.skip=true package`, which leaves target/llm-metrics.jar and, beside it,
# target/libs/ (the jar's manifest Class-Path points at libs/): both are copied to /app.

# ---- build -------------------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /build

# Only what runs is built: the main sources, with -Dmaven.test.skip=true, which also leaves the tests'
# dependencies (the pom's test-dependencies profile) undownloaded (DockerImageBuildTest checks both steps).
# Dependencies and plugins first, in their own layer, so that a source change does not download them
# again. This only warms the cache: whatever it misses the package step fetches, so its failure is not fatal.
COPY pom.xml ./
RUN mvn -B -ntp -q -Dmaven.test.skip=true dependency:resolve || true

COPY src/main ./src/main
RUN mvn -B -ntp -Dmaven.test.skip=true package

# ---- run ---------------------------------------------------------------------------------
FROM eclipse-temurin:21-jre
WORKDIR /app

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin llm-metrics

COPY --from=build /build/target/llm-metrics.jar /app/llm-metrics.jar
COPY --from=build /build/target/libs/ /app/libs/

# Listen on every interface inside the container (the server's default host is loopback).
ENV SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8001
EXPOSE 8001

# Class data sharing: one start of the server during the build (on loopback, a port of its own) records the
# classes it loads in an archive, written when the JVM exits on the TERM signal sent once the server listens;
# every start of the image then maps them instead of loading them again (docs/benchmarks.md). A server that
# does not start fails the build with its output. A JVM that cannot use the archive starts without it.
# DockerRunStageIT carries out this step and starts the entry point on the archive.
RUN SERVER_HOST=127.0.0.1 SERVER_PORT=0 java -XX:ArchiveClassesAtExit=/app/llm-metrics.jsa -Xlog:cds=off \
        -Xlog:cds+dynamic=off -jar /app/llm-metrics.jar > /tmp/training.log 2>&1 & \
    pid=$!; \
    for i in $(seq 240); do grep -q "listening on" /tmp/training.log && break; kill -0 $pid || break; sleep 0.5; done; \
    if ! grep -q "listening on" /tmp/training.log; then cat /tmp/training.log; kill -9 $pid; wait $pid; \
        rm -f /app/llm-metrics.jsa; exit 1; fi; \
    kill -TERM $pid; wait $pid; rm /tmp/training.log; test -s /app/llm-metrics.jsa

USER llm-metrics
ENTRYPOINT ["java","-XX:SharedArchiveFile=/app/llm-metrics.jsa","-Xlog:cds=off","-Xlog:cds+dynamic=off","-jar","/app/llm-metrics.jar"]
