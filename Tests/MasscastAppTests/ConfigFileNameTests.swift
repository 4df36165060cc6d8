import Testing

@testable import MasscastApp

/// `validate` recognises a project config among its files by the path's last component
/// (as `NSString.lastPathComponent` reads it), compared byte by byte.
@Suite("validate: which paths are masscast.yaml")
struct ConfigFileNameTests {
    @Test("the last component decides; trailing slashes are ignored; a longer name is not a config")
    func lastComponent() {
        let name = "masscast.yaml"
        #expect(Validation.lastComponent(of: "masscast.yaml", is: name))
        #expect(Validation.lastComponent(of: "a/b/masscast.yaml", is: name))
        #expect(Validation.lastComponent(of: "/masscast.yaml", is: name))
        #expect(Validation.lastComponent(of: "a/masscast.yaml/", is: name))
        #expect(!Validation.lastComponent(of: "a/old-masscast.yaml", is: name))
        #expect(!Validation.lastComponent(of: "masscast.yaml/x.yaml", is: name))
        #expect(!Validation.lastComponent(of: "masscast.yml", is: name))
        #expect(!Validation.lastComponent(of: "", is: name))
        #expect(!Validation.lastComponent(of: "/", is: name))
    }
}
