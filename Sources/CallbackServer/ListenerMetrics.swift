import Prometheus

/// The listener's Prometheus metrics, exposed at `GET /metrics` in the text format.
///
/// | metric | type | meaning |
/// |---|---|---|
/// | `masscast_listener_pushes_received_total` | counter | POSTs to the callback path (every push, whatever became of it) |
/// | `masscast_listener_pushes_stored_total` | counter | MASSSENDJOBFINISH pushes newly stored in the inbox |
/// | `masscast_listener_pushes_duplicate_total` | counter | MASSSENDJOBFINISH pushes already in the inbox (WeChat's retries) |
/// | `masscast_listener_pushes_rejected_total{reason}` | counter | refused requests, by ``RejectionReason`` |
/// | `masscast_listener_events_other_total` | counter | authentic events of other types, acknowledged and not stored |
/// | `masscast_listener_url_verifications_total` | counter | GET URL verifications answered with `echostr` |
/// | `masscast_listener_store_failures_total` | counter | pushes that could not be stored in time (answered 503) |
/// | `masscast_listener_store_latency_seconds` | histogram | how long `storeInboxEvent` took |
public final class ListenerMetrics: Sendable {
    /// The registry everything is registered in; ``render()`` emits it.
    public let registry: PrometheusCollectorRegistry

    let received: Counter
    let stored: Counter
    let duplicates: Counter
    let otherEvents: Counter
    let verifications: Counter
    let storeFailures: Counter
    let storeLatency: DurationHistogram
    private let rejected: [RejectionReason: Counter]

    /// Registers the listener's metrics in `registry` (a new one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "masscast", subsystem: "listener", metricName: name, unitName: "total", helpText: help))
        }
        received = counter("pushes_received", "POST requests to the callback path")
        stored = counter("pushes_stored", "MASSSENDJOBFINISH pushes newly stored in the inbox")
        duplicates = counter("pushes_duplicate", "MASSSENDJOBFINISH pushes that were already in the inbox")
        otherEvents = counter("events_other", "Authentic events of other types, acknowledged and not stored")
        verifications = counter("url_verifications", "GET URL verifications answered with echostr")
        storeFailures = counter("store_failures", "Pushes that could not be stored in time (answered 503)")
        var rejected: [RejectionReason: Counter] = [:]
        let descriptor = MetricNameDescriptor(
            namespace: "masscast", subsystem: "listener", metricName: "pushes_rejected", unitName: "total",
            helpText: "Refused callback requests, by reason")
        for reason in RejectionReason.allCases {
            rejected[reason] = registry.makeCounter(descriptor: descriptor, labels: [("reason", reason.rawValue)])
        }
        self.rejected = rejected
        storeLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "masscast", subsystem: "listener", metricName: "store_latency", unitName: "seconds",
                helpText: "How long storing a push in the state store took"),
            buckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .milliseconds(2500), .seconds(5),
            ])
    }

    func rejected(_ reason: RejectionReason) {
        rejected[reason]?.increment()
    }

    /// The metrics in the Prometheus text exposition format.
    public func render() -> String {
        registry.emitToString()
    }
}
