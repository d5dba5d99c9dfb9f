package dev.llmmetrics.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The catalog's labels handed in ahead of events, as a durable store hands in those it holds. */
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
        assertNull(catalog.known(ModelCatalog.OTHER_LABEL));
        assertNull(catalog.known(ModelCatalog.UNKNOWN_LABEL));
        assertNull(catalog.known("c"), "no label left for c: it is numbered when it comes, as any name past the labels");
        assertNull(catalog.known("d"));
        assertEquals(List.of("a", "b"), List.of(catalog.model(0).name(), catalog.model(1).name()));
    }
}
