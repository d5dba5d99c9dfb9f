package dev.llmmetrics.cost;

/** Where a request's cost comes from: the provider's own figure is preferred over the price table's. */
public enum CostSource {
    /** The provider or gateway reported the cost with the response. */
    PROVIDER("provider"),
    /** The price table's price of the tokens the response reported. */
    PRICE_TABLE("price_table");

    private final String wireName;

    CostSource(String wireName) {
        this.wireName = wireName;
    }

    /** The name in the session JSON, {@code provider} or {@code price_table}. */
    public String wireName() {
        return wireName;
    }
}
