package dev.llmmetrics.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The catalog's labels: as many as it is given, and those handed in ahead of events, as a durable store hands them in. */
class ModelCatalogTest {

    @Test
    void namesHandedInFirstTakeTheLabelsAheadOfTheNamesEventsBring() {
        ModelCatalog catalog = new ModelCatalog(PriceTable.EMPTY, 2);
        catalog.labelFirst(List.of("a", "b"));
        assertEquals(ModelCatalog.OTHER_LABEL, catalog.model("x").label(), "the two labels are a's and b's");
        assertEquals("b", catalog.model("b").label());
        assertEquals("a", catalog.model("a").label());
    }

    @Test
    void reservedNamesTakeNoLabelAndNamesPastTheLastLabelAreLeftUnnumbered() {
        ModelCatalog catalog = new ModelCatalog(PriceTable.EMPTY, 2);
        catalog.labelFirst(List.of(ModelCatalog.OTHER_LABEL, "a", ModelCatalog.UNKNOWN_LABEL, "b", "c", "d"));
        assertTrue(catalog.known(ModelCatalog.OTHER_LABEL).isEmpty());
        assertTrue(catalog.known(ModelCatalog.UNKNOWN_LABEL).isEmpty());
        assertTrue(catalog.known("c").isEmpty(), "no label left for c: it is numbered when it comes, as any name past the labels");
        assertTrue(catalog.known("d").isEmpty());
        assertEquals(List.of("a", "b"), List.of(catalog.model(0).name(), catalog.model(1).name()));
    }

    /**
     * At its most labels, every model gets its own label even when both reserved names came first and took a number
     * each: a label is kept by its number, and past the last number a name is {@code _other}.
     */
    @Test
    void atItsMostLabelsEveryModelGetsItsOwnEvenAfterTheReservedNames() {
        ModelCatalog catalog = new ModelCatalog(PriceTable.EMPTY, ModelCatalog.MAX_LABELS);
        catalog.model(ModelCatalog.OTHER_LABEL);
        catalog.model(ModelCatalog.UNKNOWN_LABEL);
        for (int i = 0; i < ModelCatalog.MAX_LABELS; i++) {
            assertEquals("m" + i, catalog.model("m" + i).label());
        }
        assertEquals(ModelCatalog.OTHER_LABEL, catalog.model("one-more").label());
    }

    @Test
    void moreLabelsThanItsNumbersCanKeepAreRefused() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> new ModelCatalog(PriceTable.EMPTY, ModelCatalog.MAX_LABELS + 1));
        assertEquals("maxLabels must be from 1 to 1022, was 1023", refused.getMessage());
    }
}
