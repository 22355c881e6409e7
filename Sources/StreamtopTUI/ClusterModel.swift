import StreamtopAnalytics
import StreamtopEngine

/// What one frame of the cluster view (`streamtop attach URL URL …`) shows: each instance as last fetched,
/// with the state of its link, and the analytics merged across them.
public struct ClusterModel: Sendable {
    /// One instance of the cluster.
    public struct Instance: Sendable {
        /// Its link: address, age of the data, unreachable since when.
        public var link: RemoteStatus
        /// Its last dashboard model, nil while it has never answered.
        public var model: DashboardModel?

        /// Creates a row.
        public init(link: RemoteStatus, model: DashboardModel?) {
            self.link = link
            self.model = model
        }

        /// Set when an earlier row is the same process under another address (its figures count once).
        public var sameAs: String?

        /// Whether it answers now.
        public var answering: Bool { link.lostSince == nil && model != nil }

        /// Records per second read now: none once its input has ended (the last rate would stay otherwise).
        public var inputRate: Double {
            guard answering, let e = model?.engine, !e.inputEnded, !e.finished else { return 0 }
            return e.tasks.first?.outPerSecond ?? 0
        }
    }

    /// The instances, in the order given.
    public var instances: [Instance]
    /// The analytics of every instance that has answered at least once (an unreachable one with its last
    /// figures: counts only grow, so they stay a lower bound), merged.
    public var merged: MergedSummary
    /// The wall-clock time of the frame, as shown in the header (`12:03:04`).
    public var clock = ""
    /// Malformed lines per reason, summed over the instances, largest first.
    public var malformedReasons: [(String, Int)]

    /// Creates a model, merging the instances' analytics.
    public init(instances: [Instance]) {
        self.init(merging: instances)
    }

    private init(merging instances: [Instance]) {
        var instances = instances
        var seen: [String: String] = [:]
        for i in instances.indices {
            guard let id = instances[i].model?.instanceID else { continue }
            if let first = seen[id] { instances[i].sameAs = first } else { seen[id] = instances[i].link.endpoint }
        }
        self.instances = instances
        let known = instances.filter { $0.sameAs == nil }.compactMap(\.model)
        merged = MergedSummary(known.map(\.summary))
        var reasons: [String: Int] = [:]
        for m in known { for (r, n) in m.malformedReasons { reasons[r, default: 0] += n } }
        malformedReasons = reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    }

    /// Instances answering now.
    public var answering: Int { instances.filter(\.answering).count }

    /// Records per second read now by the instances together (each process once).
    public var inputRate: Double { instances.filter { $0.sameAs == nil }.reduce(0) { $0 + $1.inputRate } }
}

/// What the operator did in the cluster view: which instance is selected, the help screen, the last message.
public struct ClusterState: Equatable, Sendable {
    /// The selected instance.
    public var selected = 0
    /// Whether the help screen is open.
    public var showHelp = false
    /// A short message for the status line.
    public var message: String?
    /// When the merged health strip warns (the settings file's thresholds).
    public var thresholds = HealthThresholds()

    /// A fresh state.
    public init() {}
}
