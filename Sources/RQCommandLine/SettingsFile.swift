import FoundationEssentials
import RQ

/// The settings `-c` names: a Python settings module of plain assignments, as RQ users write them, or a JSON
/// object with the same names.
///
/// ```python
/// REDIS_URL = 'redis://127.0.0.1:6379/0'
/// QUEUES = ['high', 'default']
/// NAME = 'worker-1'
/// SENTINEL = {'INSTANCES': [('sentinel-1', 26379)], 'MASTER_NAME': 'mymaster', 'DB': 0}
/// ```
///
/// A module is read, never run: each statement must be `NAME = literal` (strings, numbers, True/False/None, lists,
/// tuples, dicts), and only UPPERCASE names count, as with Python's `-c`; anything else is an error naming its line.
/// JSON keys may be upper or lower case, and swift-rq's own settings (`runner`, `concurrency`, …) go there too.
struct SettingsFile {
    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
    }

    let values: [String: JSONValue]

    /// Finds and reads the settings `reference` names: a file (a `.py` module, or JSON), or a module name as
    /// Python's `-c` takes it (`settings`, `myapp.settings`), looked for in `searchPaths` in order.
    static func load(reference: String, searchPaths: [String]) throws -> SettingsFile {
        var isDirectory = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory), !isDirectory {
            return try load(path: reference)
        }
        let parts = reference.split(separator: ".", omittingEmptySubsequences: false)
        let isModuleName = parts.allSatisfy { part in
            guard let first = part.first, first == "_" || first.isLetter else { return false }
            return part.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
        }
        guard isModuleName else { throw Error(description: "cannot read settings file \(reference): no such file") }
        let relative = parts.joined(separator: "/")
        var tried: [String] = []
        for directory in searchPaths {
            for candidate in ["\(relative).py", "\(relative)/__init__.py"] {
                let path = directory == "." ? candidate : "\(directory)/\(candidate)"
                tried.append(path)
                if FileManager.default.fileExists(atPath: path) { return try load(path: path) }
            }
        }
        throw Error(
            description: "cannot find settings module '\(reference)': no file \(tried.joined(separator: ", "))")
    }

    /// Reads a settings file: JSON if it ends in `.json` or starts with `{`, else a Python module.
    static func load(path: String) throws -> SettingsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Error(description: "cannot read settings file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let isJSON = path.hasSuffix(".json") || (!path.hasSuffix(".py") && text.drop { $0.isWhitespace }.first == "{")
        return isJSON ? try loadJSON(text, path: path) : try loadModule(text, path: path)
    }

    static func loadJSON(_ text: String, path: String) throws -> SettingsFile {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: text)
        } catch {
            throw Error(description: "settings file \(path) is not valid JSON: \(error)")
        }
        guard let object = document.objectValue else {
            throw Error(description: "settings file \(path) must hold a JSON object")
        }
        var values: [String: JSONValue] = [:]
        for (key, value) in object { values[key.lowercased().replacing("-", with: "_")] = value }
        return SettingsFile(values: values)
    }

    static func loadModule(_ text: String, path: String) throws -> SettingsFile {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func quoted(_ line: Int?) -> String {
            guard let line, line >= 1, line <= lines.count else { return "" }
            return ": " + String(lines[line - 1].drop { $0 == " " || $0 == "\t" })
        }
        var values: [String: JSONValue] = [:]
        do {
            for (name, literal, line) in try PythonLiteralParser.assignments(text) where name.uppercased() == name {
                do {
                    values[name.lowercased()] = try literal.jsonValue()
                } catch {
                    throw PythonLiteralError("\(name): \(error.message)", line: line)
                }
            }
        } catch let error as PythonLiteralError {
            throw Error(
                description: "settings module \(path), line \(error.line ?? 0)\(quoted(error.line)): \(error.message) "
                    + "(a settings module is read, not run)")
        }
        return SettingsFile(values: values)
    }

    subscript(key: String) -> JSONValue? { values[key] }

    func string(_ key: String) -> String? { values[key]?.stringValue }
    func int(_ key: String) -> Int? { values[key]?.intValue }
    func bool(_ key: String) -> Bool? { values[key]?.boolValue }
    func strings(_ key: String) -> [String]? {
        if let list = values[key]?.arrayValue { return list.compactMap(\.stringValue) }
        return values[key]?.stringValue.map { $0.split(separator: ",").map(String.init) }
    }

    /// The Redis URL of the settings: `REDIS_URL`, else one built from `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB`,
    /// `REDIS_PASSWORD` and RQ's TLS settings (`REDIS_SSL`, `REDIS_SSL_CA_CERTS`, `REDIS_SSL_CERTFILE`,
    /// `REDIS_SSL_KEYFILE`, `REDIS_SSL_CERT_REQS`); nil if none is set.
    func redisURL() throws -> String? {
        if let url = string("redis_url") ?? string("url") { return url }
        if let sentinel = values["sentinel"] { return try Self.sentinelURL(sentinel) }
        func text(_ key: String) -> String? { values[key].map { $0.intValue.map(String.init) ?? $0.stringValue ?? "" } }
        var tls: [(String, String)]?
        if try ssl() {
            let names = [
                ("redis_ssl_ca_certs", "ssl_ca_certs"), ("redis_ssl_certfile", "ssl_certfile"),
                ("redis_ssl_keyfile", "ssl_keyfile"), ("redis_ssl_cert_reqs", "ssl_cert_reqs"),
            ]
            tls = names.compactMap { setting, parameter in string(setting).map { (parameter, $0) } }
        }
        return Self.url(
            host: string("redis_host"), port: text("redis_port"), db: text("redis_db"),
            password: string("redis_password"), tls: tls)
    }

    /// RQ's `SENTINEL` setting — `{"INSTANCES": [["host", 26379], …], "MASTER_NAME": "mymaster", "DB": 0,
    /// "USERNAME": …, "PASSWORD": …, "SOCKET_TIMEOUT": …, "SSL": …, "CONNECTION_KWARGS": {"ssl_ca_certs": …},
    /// "SENTINEL_KWARGS": {"password": …, "ssl": …}}` — as a `redis+sentinel://` URL. `SSL` is TLS to the master and
    /// `SENTINEL_KWARGS`' `ssl` TLS to the sentinels, as redis-py's `Sentinel` takes them; their `ssl_*` settings
    /// (redis-py's names) must agree where both give one.
    static func sentinelURL(_ setting: JSONValue) throws -> String {
        guard let object = setting.objectValue else { throw Error(description: "SENTINEL must be an object") }
        var values: [String: JSONValue] = [:]
        for (key, value) in object { values[key.lowercased()] = value }
        let instances = values["instances"]?.arrayValue ?? [.array(["localhost", 26379])]
        let addresses = try instances.map { instance -> String in
            if let pair = instance.arrayValue, pair.count == 2, let host = pair[0].stringValue {
                let port = pair[1].intValue.map(String.init) ?? pair[1].stringValue ?? "26379"
                return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
            if let text = instance.stringValue { return text }
            throw Error(description: "SENTINEL INSTANCES must be [host, port] pairs, not \(instance)")
        }
        var auth = ""
        if let password = values["password"]?.stringValue {
            auth = "\(values["username"]?.stringValue.map(percentEncoded) ?? ""):\(percentEncoded(password))@"
        }
        let name = percentEncoded(values["master_name"]?.stringValue ?? "mymaster")
        var url = "redis+sentinel://\(auth)\(addresses.joined(separator: ","))/\(name)/\(values["db"]?.intValue ?? 0)"
        var query: [String] = []
        var kwargs: [String: JSONValue] = [:]
        for (key, value) in values["sentinel_kwargs"]?.objectValue ?? [:] { kwargs[key.lowercased()] = value }
        if let password = kwargs["password"]?.stringValue {
            query.append("sentinel_password=\(percentEncoded(password))")
        }
        if let username = kwargs["username"]?.stringValue {
            query.append("sentinel_username=\(percentEncoded(username))")
        }
        if let seconds = values["socket_timeout"]?.doubleValue { query.append("socket_timeout=\(seconds)") }
        var connection: [String: JSONValue] = [:]
        for (key, value) in values["connection_kwargs"]?.objectValue ?? [:] { connection[key.lowercased()] = value }
        func flag(_ value: JSONValue?) -> Bool { value?.boolValue ?? (value?.stringValue?.lowercased() == "true") }
        if flag(values["ssl"]) || flag(connection["ssl"]) { query.append("ssl=true") }
        if flag(kwargs["ssl"]) { query.append("sentinel_ssl=true") }
        for name in ["ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname"] {
            let text = { (value: JSONValue?) -> String? in
                value.map { $0.boolValue.map { $0 ? "true" : "false" } ?? $0.stringValue ?? "\($0)" }
            }
            let master = text(connection[name])
            let sentinels = text(kwargs[name])
            if let master, let sentinels, master != sentinels {
                throw Error(
                    description:
                        "SENTINEL: CONNECTION_KWARGS and SENTINEL_KWARGS give different \(name); swift-rq uses one "
                        + "TLS setting for the master and the sentinels")
            }
            if let value = master ?? sentinels { query.append("\(name)=\(percentEncoded(value))") }
        }
        if !query.isEmpty { url += "?" + query.joined(separator: "&") }
        return url
    }

    /// `REDIS_SSL`, a boolean or RQ's strings for one.
    private func ssl() throws -> Bool {
        guard let value = values["redis_ssl"] else { return false }
        if let flag = value.boolValue { return flag }
        switch value.stringValue?.lowercased() {
        case "y", "yes", "t", "true": return true
        case "n", "no", "f", "false", "": return false
        default: throw Error(description: "REDIS_SSL is a boolean and must be \"True\" or \"False\".")
        }
    }

    /// A URL for the parts given, nil if none is; with `tls`, a `rediss://` URL with those query parameters.
    static func url(
        host: String?, port: String?, db: String?, password: String?, tls: [(String, String)]? = nil
    ) -> String? {
        guard host != nil || port != nil || db != nil || password != nil || tls != nil else { return nil }
        let auth = password.map { ":\(percentEncoded($0))@" } ?? ""
        let base = "\(tls == nil ? "redis" : "rediss")://\(auth)\(host ?? "127.0.0.1"):\(port ?? "6379")/\(db ?? "0")"
        guard let tls, !tls.isEmpty else { return base }
        return base + "?" + tls.map { "\($0)=\(percentEncoded($1))" }.joined(separator: "&")
    }
}

/// The entry point of the settings-file fuzz target in `Fuzz/`.
@_spi(Fuzzing) public enum SettingsFileFuzzing {
    /// Reads `bytes` as a settings file, as `-c` does (JSON if it starts with `{`, else a Python module), then builds
    /// the Redis configuration its settings describe. Errors are expected; crashes are not.
    public static func read(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let isJSON = text.drop { $0.isWhitespace }.first == "{"
        guard
            let settings = try? isJSON
                ? SettingsFile.loadJSON(text, path: "fuzz") : SettingsFile.loadModule(text, path: "fuzz")
        else { return }
        _ = settings.strings("queues")
        if let url = try? settings.redisURL() { _ = try? RedisConfiguration(url: url) }
    }
}
