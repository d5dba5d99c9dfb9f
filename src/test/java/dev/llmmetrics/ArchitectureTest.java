package dev.llmmetrics;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package structure the compiled main classes must keep: the library embeds in any application without
 * the server, Helidon, LangChain4j or the Prometheus registry, and its packages depend on each other one way.
 */
class ArchitectureTest {

    private static final String LIBRARY = "dev.llmmetrics..";
    private static final String SERVER = "dev.llmmetrics.server..";

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.llmmetrics");
    }

    @Test
    void theLibraryNeverDependsOnTheServerOrHelidon() {
        noClasses().that().resideInAPackage(LIBRARY).and().resideOutsideOfPackage(SERVER)
                .should().dependOnClassesThat().resideInAnyPackage(SERVER, "io.helidon..")
                .because("an application embeds the library without the server")
                .check(classes);
    }

    private static final String PROMETHEUS_DISTRIBUTIONS = "dev.llmmetrics.meter.PrometheusDistributions";

    @Test
    void theFacadeNeverDependsOnTheServer() {
        noClasses().that().resideInAPackage("dev.llmmetrics")
                .should().dependOnClassesThat().resideInAPackage(SERVER)
                .because("the server is built on LlmMetrics, not the other way round")
                .check(classes);
    }

    @Test
    void theLibraryUsesJacksonOnlyToReadThePriceTable() {
        noClasses().that().resideInAPackage(LIBRARY).and().resideOutsideOfPackages(SERVER, "dev.llmmetrics.cost..")
                .should().dependOnClassesThat().resideInAPackage("com.fasterxml.jackson..")
                .because("JSON shapes (Jackson annotations included) belong to the server's routes; the session store "
                        + "and the meters hold plain values")
                .check(classes);
    }

    @Test
    void onlyTheLangChain4jAdapterDependsOnLangChain4j() {
        noClasses().that().resideOutsideOfPackage("dev.llmmetrics.langchain4j..")
                .should().dependOnClassesThat().resideInAPackage("dev.langchain4j..")
                .because("langchain4j-core is optional for applications that do not use the adapter")
                .check(classes);
    }

    @Test
    void onlyThePrometheusPackageTheServerAndTheMetersPrometheusRenderingDependOnThePrometheusRegistry() {
        noClasses().that().resideOutsideOfPackages("dev.llmmetrics.prometheus..", SERVER)
                .and().doNotHaveFullyQualifiedName(PROMETHEUS_DISTRIBUTIONS)
                .should().dependOnClassesThat().resideInAnyPackage("io.micrometer.prometheusmetrics..", "io.prometheus..")
                .because("the Prometheus registry is optional for applications that embed the library with another "
                        + "Micrometer registry")
                .check(classes);
    }

    @Test
    void onlyTheRegistrysFiguresLoadTheMetersPrometheusRendering() {
        noClasses().that().doNotHaveFullyQualifiedName("dev.llmmetrics.meter.RegistryFigures")
                .and().doNotHaveFullyQualifiedName(PROMETHEUS_DISTRIBUTIONS)
                .should().dependOnClassesThat().haveFullyQualifiedName(PROMETHEUS_DISTRIBUTIONS)
                .because("it is loaded only for a Prometheus registry, told by the registry's class name")
                .check(classes);
    }

    @Test
    void onlyTheSqliteStoreDependsOnSqliteAndJdbc() {
        noClasses().that().resideOutsideOfPackage("dev.llmmetrics.session.sqlite..")
                .should().dependOnClassesThat().resideInAnyPackage("org.sqlite..", "java.sql..")
                .because("sqlite-jdbc is optional for applications that keep their sessions in memory")
                .check(classes);
    }

    @Test
    void onlyTheRedisStoreDependsOnJedis() {
        noClasses().that().resideOutsideOfPackage("dev.llmmetrics.session.redis..")
                .should().dependOnClassesThat().resideInAnyPackage("redis.clients..", "org.apache.commons.pool2..")
                .because("jedis is optional for applications that do not share their sessions through Redis")
                .check(classes);
    }

    @Test
    void thePackagesUnderDevLlmmetricsAreFreeOfCycles() {
        slices().matching("dev.llmmetrics.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void theFacadeIsInNoCycleWithThePackagesUnderIt() {
        slices().assignedFrom(new TopLevelPackages()).should().beFreeOfCycles().check(classes);
    }

    @Test
    void noPackageIsInACycleWithItsOwnSubpackages() {
        slices().assignedFrom(new EachPackage()).should().beFreeOfCycles().check(classes);
    }

    @Test
    void theSessionStoreNeverDependsOnTheMetersThatReadIt() {
        noClasses().that().resideInAPackage("dev.llmmetrics.session..")
                .should().dependOnClassesThat().resideInAPackage("dev.llmmetrics.meter..")
                .because("a data source never knows who reads it")
                .check(classes);
    }

    /**
     * One slice for the classes of {@code dev.llmmetrics} itself and one for each package under it with its
     * subpackages, so that a cycle through the facade is found too ({@code dev.llmmetrics.(*)..} leaves it out).
     */
    private static final class TopLevelPackages implements SliceAssignment {

        private static final String ROOT = "dev.llmmetrics";

        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String name = javaClass.getPackageName();
            if (name.equals(ROOT)) {
                return SliceIdentifier.of(ROOT);
            }
            if (!name.startsWith(ROOT + ".")) {
                return SliceIdentifier.ignore();
            }
            int end = name.indexOf('.', ROOT.length() + 1);
            return SliceIdentifier.of(end < 0 ? name : name.substring(0, end));
        }

        @Override
        public String getDescription() {
            return ROOT + " and each package under it";
        }
    }

    /**
     * One slice for each package on its own, so that a cycle between a package and its subpackage is found too
     * ({@code dev.llmmetrics.session} and {@code .session.sqlite}, {@code .server} and {@code .server.proxy}),
     * which the other two rules hold in one slice.
     */
    private static final class EachPackage implements SliceAssignment {

        private static final String ROOT = "dev.llmmetrics";

        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String name = javaClass.getPackageName();
            return name.equals(ROOT) || name.startsWith(ROOT + ".") ? SliceIdentifier.of(name) : SliceIdentifier.ignore();
        }

        @Override
        public String getDescription() {
            return "each package of " + ROOT;
        }
    }
}
