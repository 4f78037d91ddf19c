import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore

/// HTTP basic authentication for the dashboard's actions (and, if configured, its pages): a request without the
/// configured credentials gets `401` with a `WWW-Authenticate` challenge, so a browser asks for them once. Without
/// credentials configured every request it guards gets `403`: the dashboard is read-only.
///
/// Because a browser sends basic credentials with every request to the site, also with one that another site's page
/// makes it send, a request whose `Origin` header names another host is refused (`403`).
struct BasicAuthentication<Context: RequestContext>: RouterMiddleware {
    let credentials: DashboardCredentials?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let credentials else {
            return Self.plain(.forbidden, "The dashboard is read-only: no credentials are configured.")
        }
        guard Self.matches(request.headers[.authorization], credentials) else {
            var response = Self.plain(.unauthorized, "Log in to use the dashboard's actions.")
            response.headers[.wwwAuthenticate] = "Basic realm=\"RQ dashboard\", charset=\"UTF-8\""
            return response
        }
        if let origin = request.headers[.origin], let authority = request.head.authority {
            let host = origin.split(separator: "://", maxSplits: 1).last.map(String.init) ?? origin
            guard host == authority else { return Self.plain(.forbidden, "Cross-site request refused.") }
        }
        return try await next(request, context)
    }

    /// Whether an `Authorization: Basic …` header carries these credentials (compared in constant time).
    static func matches(_ header: String?, _ credentials: DashboardCredentials) -> Bool {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return false }
        guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingSpaces) else { return false }
        let given = Array(decoded)
        let expected = Array("\(credentials.user):\(credentials.password)".utf8)
        var difference = given.count ^ expected.count
        for index in expected.indices { difference |= Int(expected[index] ^ (index < given.count ? given[index] : 0)) }
        return difference == 0
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
