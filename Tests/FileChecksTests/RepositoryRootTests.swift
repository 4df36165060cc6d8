import Foundation
import Testing

@testable import FileChecks
