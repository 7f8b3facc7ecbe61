package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.TopicConfigs;
import io.fjord.broker.TopicInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData;
import org.apache.kafka.common.protocol.Errors;

/** DescribeConfigs 1-4 and IncrementalAlterConfigs 0-1, for topics (and, read-only, the broker). */
final class ConfigsHandler {
    static final byte RESOURCE_TOPIC = 2;
    static final byte RESOURCE_BROKER = 4;
    static final byte SOURCE_TOPIC_CONFIG = 1;
    static final byte SOURCE_STATIC_BROKER_CONFIG = 4;
    static final byte SOURCE_DEFAULT_CONFIG = 5;
    static final byte TYPE_BOOLEAN = 1;
    static final byte TYPE_INT = 3;
    static final byte TYPE_LONG = 5;
    static final byte TYPE_LIST = 7;
    static final byte OP_SET = 0;
    static final byte OP_DELETE = 1;

    private final Broker broker;

    ConfigsHandler(Broker broker) {
        this.broker = broker;
    }

    Response describe(RequestContext ctx, DescribeConfigsRequestData req) {
        DescribeConfigsResponseData resp = new DescribeConfigsResponseData();
        for (DescribeConfigsRequestData.DescribeConfigsResource res : req.resources()) {
            DescribeConfigsResponseData.DescribeConfigsResult r =
                    new DescribeConfigsResponseData.DescribeConfigsResult()
                            .setResourceType(res.resourceType())
                            .setResourceName(res.resourceName())
                            .setErrorCode(Errors.NONE.code());
            resp.results().add(r);
            Map<String, String[]> entries; // name -> {value, source, type}
            if (res.resourceType() == RESOURCE_TOPIC) {
                TopicInfo t = broker.topic(res.resourceName());
                if (t == null) {
                    r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
                            .setErrorMessage("unknown topic " + res.resourceName());
                    continue;
                }
                entries = new LinkedHashMap<>();
                for (Map.Entry<String, String> d :
                        TopicConfigs.defaults(broker.config().logDefaults()).entrySet()) {
                    String override = t.configs().get(d.getKey());
                    entries.put(d.getKey(), new String[] {
                        override != null ? override : d.getValue(),
                        Byte.toString(override != null ? SOURCE_TOPIC_CONFIG : SOURCE_DEFAULT_CONFIG),
                        Byte.toString(d.getKey().equals(TopicConfigs.CLEANUP_POLICY) ? TYPE_LIST : TYPE_LONG)
                    });
                }
            } else if (res.resourceType() == RESOURCE_BROKER) {
                if (!res.resourceName().isEmpty() && !res.resourceName().equals(Integer.toString(broker.nodeId()))) {
                    r.setErrorCode(Errors.INVALID_REQUEST.code())
                            .setErrorMessage("unknown broker " + res.resourceName());
                    continue;
                }
                entries = new LinkedHashMap<>();
                String src = Byte.toString(SOURCE_STATIC_BROKER_CONFIG);
                entries.put("node.id", new String[] {Integer.toString(broker.nodeId()), src, Byte.toString(TYPE_INT)});
                entries.put("num.partitions", new String[] {
                    Integer.toString(broker.config().defaultPartitions()), src, Byte.toString(TYPE_INT)
                });
                entries.put("auto.create.topics.enable", new String[] {
                    Boolean.toString(broker.config().autoCreateTopics()), src, Byte.toString(TYPE_BOOLEAN)
                });
                entries.put(
                        "log.dirs", new String[] {broker.config().dataDir().toString(), src, Byte.toString(TYPE_LIST)});
            } else {
                r.setErrorCode(Errors.INVALID_REQUEST.code())
                        .setErrorMessage("resource type " + res.resourceType() + " is not supported");
                continue;
            }
            List<DescribeConfigsResponseData.DescribeConfigsResourceResult> configs = new ArrayList<>();
            Set<String> wanted = res.configurationKeys() == null ? null : new HashSet<>(res.configurationKeys());
            boolean readOnly = res.resourceType() == RESOURCE_BROKER;
            entries.forEach((name, v) -> {
                if (wanted == null || wanted.contains(name)) {
                    configs.add(new DescribeConfigsResponseData.DescribeConfigsResourceResult()
                            .setName(name)
                            .setValue(v[0])
                            .setReadOnly(readOnly)
                            .setConfigSource(Byte.parseByte(v[1]))
                            .setIsSensitive(false)
                            .setConfigType(Byte.parseByte(v[2])));
                }
            });
            r.setConfigs(configs);
        }
        return ctx.respond(resp);
    }

    Response incrementalAlter(RequestContext ctx, IncrementalAlterConfigsRequestData req) {
        IncrementalAlterConfigsResponseData resp = new IncrementalAlterConfigsResponseData();
        for (IncrementalAlterConfigsRequestData.AlterConfigsResource res : req.resources()) {
            IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse r =
                    new IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse()
                            .setResourceType(res.resourceType())
                            .setResourceName(res.resourceName());
            resp.responses().add(r);
            if (res.resourceType() != RESOURCE_TOPIC) {
                r.setErrorCode(Errors.INVALID_REQUEST.code())
                        .setErrorMessage("only topic configs can be changed; broker configs are static");
                continue;
            }
            if (broker.topic(res.resourceName()) == null) {
                r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
                        .setErrorMessage("unknown topic " + res.resourceName());
                continue;
            }
            Map<String, String> set = new HashMap<>();
            Set<String> delete = new HashSet<>();
            String bad = null;
            for (IncrementalAlterConfigsRequestData.AlterableConfig c : res.configs()) {
                if (c.configOperation() == OP_SET) {
                    set.put(c.name(), c.value());
                } else if (c.configOperation() == OP_DELETE) {
                    delete.add(c.name());
                } else {
                    bad = "operation " + c.configOperation() + " (APPEND/SUBTRACT) is not supported for " + c.name();
                }
            }
            if (bad == null) {
                bad = broker.alterTopicConfigs(res.resourceName(), set, delete, req.validateOnly());
            }
            r.setErrorCode(bad == null ? Errors.NONE.code() : Errors.INVALID_CONFIG.code())
                    .setErrorMessage(bad);
        }
        return ctx.respond(resp);
    }
}
