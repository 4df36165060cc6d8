import Foundation
import PipelineCore
import WeChatMP

/// `mass/get`: a mass message's status.
struct MassGetHandler: StepHandler {
    struct Outputs: Encodable, Sendable {
        var msgID: Int64
        var msgStatus: String

        enum CodingKeys: String, CodingKey {
            case msgID = "msg_id", msgStatus = "msg_status"
        }
    }

    var kind: String { "mass/get" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> MessageRef {
        guard let value = with["msg_id"], let id = reader.messageID(value) else {
            throw .input("with.msg_id must be a message id")
        }
        return id
    }

    func describe(_ inputs: MessageRef, context: PlanContext) async -> PlannedCall {
        context.call(endpoints: ["message/mass/get"])
    }

    func execute(_ inputs: MessageRef, context: StepContext) async -> StepExecution<Outputs> {
        guard let msgID = inputs.known else { return .failure(.input("with.msg_id must be a message id")) }
        return await context.call("message/mass/get", isMass: true) {
            (client: WeChatClient) async throws(WeChatError) -> GetResponse in
            try await client.get(msgID: msgID)
        }.map { Outputs(msgID: $0.msgID, msgStatus: $0.msgStatus.rawValue) }
    }
}

/// `mass/speed`: sets the sending speed when `speed` is given, then reads it.
struct MassSpeedHandler: StepHandler {
    struct Inputs: Sendable {
        var speed: Int?
        /// Describing: `speed` is an earlier step's output, so a run sets it.
        var speedFromEarlierStep = false
    }

    struct Outputs: Encodable, Sendable {
        var speed: Int
        var realspeed: Int
    }

    var kind: String { "mass/speed" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        Inputs(
            speed: with["speed"]?.intValue,
            speedFromEarlierStep: reader.planning && with["speed"].map { !OutputReference.all(in: $0).isEmpty } == true)
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        context.call(
            endpoints: (inputs.speed == nil && !inputs.speedFromEarlierStep ? [] : ["message/mass/speed/set"])
                + ["message/mass/speed/get"])
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        if let speed = inputs.speed {
            let set = await context.call("message/mass/speed/set", isMass: true) {
                (client: WeChatClient) async throws(WeChatError) -> Void in
                try await client.setSpeed(speed)
            }
            switch set {
            case .success: break
            case .failure(let failure, _):
                // Only WeChat's answer is a failure here: a 45065 is not one set/speed expects.
                if failure.code == .unexpectedAnswer {
                    return .failure(StepFailure(.unexpectedAnswer, "unexpected answer on speed/set"))
                }
                return .failure(failure)
            case .stopped(let message): return .stopped(message)
            }
        }
        return await context.call("message/mass/speed/get", isMass: true) {
            (client: WeChatClient) async throws(WeChatError) -> SpeedGetResponse in
            try await client.getSpeed()
        }.map { Outputs(speed: $0.speed, realspeed: $0.realspeed) }
    }
}
