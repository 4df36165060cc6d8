import Foundation

// The default fixture is `Resources/default-fixture.yaml`, embedded in the binary by SwiftPM
// (`.embedInCode`, the generated `PackageResources`): the binary does not depend on finding
// a resource bundle next to it, and the YAML file is the only copy.

extension SandboxFixture {
    /// The text of the default fixture (`Resources/default-fixture.yaml`, without its final
    /// line break): a verified service account `brand-main` (AppID wx8a3f2c71d905be46, 5,000
    /// followers, tags 100 vip, 101 beijing, 102 shanghai, 103 guangzhou, 104 new-followers,
    /// safe-mode callback) and an unverified subscription account `brand-news` (AppID
    /// wx3e6b9d2f4a8c1705). Its digest is part of a rehearsal's identity, so the text is
    /// exactly what masscast 0.1 embedded.
    public static let defaultYAML: String = {
        let text = String(decoding: PackageResources.default_fixture_yaml, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }()

    /// The default fixture, read from ``defaultYAML``.
    public static var `default`: SandboxFixture { defaultFixture }

    private static let defaultFixture: SandboxFixture = {
        do {
            return try SandboxFixture.load(yaml: defaultYAML, file: "default-fixture.yaml")
        } catch {
            preconditionFailure("the built-in default fixture is invalid:\n\(error)")
        }
    }()
}
