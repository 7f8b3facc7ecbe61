package io.fjord.wire;

import java.util.EnumMap;
import java.util.Map;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * Which APIs and versions Fjord serves and advertises. Only what is implemented end to end is
 * listed: nothing unstable, no topic-id-only versions (Produce 13+, Fetch 13+).
 *
 * <p>Produce is advertised from version 0 although only 3+ is served, because librdkafka before
 * 2.11 enables compression only when Produce v0 is advertised; a v0-2 request closes the
 * connection (kafka-clients 4.1 cannot parse those versions, and no maintained client sends them).
 */
final class ApiSupport {
    private record Range(short min, short max) {}

    private static final Map<ApiKeys, Range> SERVED = new EnumMap<>(ApiKeys.class);

    static {
        served(ApiKeys.API_VERSIONS, 0, 4);
        served(ApiKeys.METADATA, 0, 12);
        served(ApiKeys.PRODUCE, 3, 12);
        served(ApiKeys.FETCH, 4, 12);
        served(ApiKeys.LIST_OFFSETS, 1, 7);
        served(ApiKeys.CREATE_TOPICS, 2, 7);
        served(ApiKeys.DELETE_TOPICS, 1, 6);
        served(ApiKeys.INIT_PRODUCER_ID, 0, 5);
        served(ApiKeys.DESCRIBE_CONFIGS, 1, 4);
        served(ApiKeys.INCREMENTAL_ALTER_CONFIGS, 0, 1);
        served(ApiKeys.DESCRIBE_CLUSTER, 0, 1);
        served(ApiKeys.CREATE_PARTITIONS, 0, 3);
        served(ApiKeys.DELETE_RECORDS, 0, 2);
        served(ApiKeys.FIND_COORDINATOR, 0, 6);
        served(ApiKeys.JOIN_GROUP, 0, 9);
        served(ApiKeys.SYNC_GROUP, 0, 5);
        served(ApiKeys.HEARTBEAT, 0, 4);
        served(ApiKeys.LEAVE_GROUP, 0, 5);
        served(ApiKeys.OFFSET_COMMIT, 2, 9);
        served(ApiKeys.OFFSET_FETCH, 1, 9);
        served(ApiKeys.LIST_GROUPS, 0, 5);
        served(ApiKeys.DESCRIBE_GROUPS, 0, 5);
        served(ApiKeys.DELETE_GROUPS, 0, 2);
        served(ApiKeys.OFFSET_DELETE, 0, 0);
    }

    private static void served(ApiKeys key, int min, int max) {
        // Never claim more than the pinned kafka-clients can parse.
        short lo = (short) Math.max(min, key.oldestVersion());
        short hi = (short) Math.min(max, key.latestVersion(false));
        SERVED.put(key, new Range(lo, hi));
    }

    private ApiSupport() {}

    /**
     * Runs kafka-clients' protocol class initializers (ApiKeys with every message schema, Errors
     * with an exception factory per code): tens to hundreds of ms of cold code on first use. A
     * starting node calls this once its listener is bound, on the listener's start thread, so the
     * first request does not pay it on the event loop that takes it (a loop that also loads
     * consumer-group shards, which waited behind it).
     */
    static void initializeProtocol() {
        advertised();
        Errors.forCode(Errors.NONE.code());
        new RequestHeaderData();
    }

    static boolean isServed(ApiKeys key, short version) {
        Range r = SERVED.get(key);
        return r != null && version >= r.min && version <= r.max;
    }

    /** The ApiVersions list: the served ranges, with Produce's advertised minimum lowered to 0. */
    static ApiVersionsResponseData.ApiVersionCollection advertised() {
        ApiVersionsResponseData.ApiVersionCollection c = new ApiVersionsResponseData.ApiVersionCollection();
        SERVED.forEach((key, r) -> c.add(new ApiVersionsResponseData.ApiVersion()
                .setApiKey(key.id)
                .setMinVersion(key == ApiKeys.PRODUCE ? 0 : r.min)
                .setMaxVersion(r.max)));
        return c;
    }
}
