import Foundation
import PipelineCore

/// `mass/wait`: waits for mass jobs to finish (MASSSENDJOBFINISH push, or polling).
struct MassWaitHandler: StepHandler {
    struct Inputs: Sendable {
        /// Distinct, in order.
        var ids: [MessageRef]
        var timeout: Duration
        var pollInterval: Duration
        /// `auto`, `callback` or `poll`.
        var source: String
        var minSent: DeliveryThreshold?
    }

    /// The pushes' counts summed (`nil` unless every job pushed) and the worst status.
    struct Outputs: Encodable, Sendable {
        var status: String
        var msgStatus: String
        var totalCount: Int?
        var filterCount: Int?
        var sentCount: Int?
        var errorCount: Int?
        var copyrightCheckState: Int?
        var articles: [Value]?

        enum CodingKeys: String, CodingKey {
            case status, msgStatus = "msg_status", totalCount = "total_count", filterCount = "filter_count"
            case sentCount = "sent_count", errorCount = "error_count"
            case copyrightCheckState = "copyright_check_state", articles
        }
    }

    var kind: String { "mass/wait" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        var ids: [MessageRef] = []
        if let one = with["msg_id"] {
            guard let id = reader.messageID(one) else { throw .input("with.msg_id must be a message id") }
            ids = [id]
        } else if case .list(let list)? = with["msg_ids"] {
            for v in list {
                guard let id = reader.messageID(v) else { throw .input("with.msg_ids holds \(v.templateText), not a message id") }
                if !ids.contains(id) { ids.append(id) }
            }
        } else if let list = with["msg_ids"], let refs = reader.messageIDs(list) {
            ids = refs
        }
        guard !ids.isEmpty else { throw .input("with needs msg_id or msg_ids") }
        let timeout = with["timeout"]?.stringValue.flatMap(DurationText.parse) ?? .seconds(6 * 3600)
        let pollInterval = with["poll_interval"]?.stringValue.flatMap(DurationText.parse) ?? .seconds(30)
        let source = with["source"]?.stringValue ?? "auto"
        if source == "callback" && reader.originalID == nil {
            throw .input(
                "source: callback needs the account's original_id (gh_…) in masscast.yaml to find its pushes; use source: auto or poll")
        }
        var minSent: DeliveryThreshold?
        if let v = with["min_sent"] {
            guard let t = DeliveryThreshold(v) else {
                throw .input("with.min_sent must be a count ≥ 1 or a percentage like \"90%\", not \(v.templateText)")
            }
            if source == "poll" {
                throw .input("min_sent cannot be checked with source: poll: only the MASSSENDJOBFINISH push carries the counts")
            }
            minSent = t
        }
        return Inputs(ids: ids, timeout: timeout, pollInterval: pollInterval, source: source, minSent: minSent)
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        context.call(endpoints: inputs.source == "callback" ? [] : ["message/mass/get"])
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        await context.executor.massWait(context.step, inputs)
    }
}
