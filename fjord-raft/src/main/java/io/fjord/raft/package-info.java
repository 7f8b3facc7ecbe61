/**
 * Apache Ratis glue. Ratis types never leave this package tree: the broker sees {@link
 * io.fjord.raft.RaftNode}, the KV interface and replicated groups through Fjord's own types.
 */
package io.fjord.raft;
