#!/usr/bin/env node
// Interop check of Fjord with kafkajs, run by KafkajsTest:
//
//   node produce-consume.js <host:port> <topic> [records]
//
// Creates the topic (3 partitions) with the admin client, produces the records with the
// producer (keyed, with a header, half of the batches gzip-compressed, acks=all), reads the high
// watermarks with admin.fetchTopicOffsets (ListOffsets), then reads every partition back from
// offset 0 and checks each record. Prints one JSON summary line on success; exits 1 with the
// reason on the first mismatch, 2 when the overall deadline passes.
//
// Consuming: kafkajs's only public consumer needs a consumer group (FindCoordinator, JoinGroup,
// ...), which Fjord does not serve yet. Until it does, this script reads with kafkajs's internal
// Cluster and Broker.fetch (the layer its consumer uses underneath: same Fetch request and record
// batch decoding, no group), and KafkajsTest also reads the records with the Java consumer.
// When consumer groups land, replace readPartition() with kafka.consumer({ groupId }).
'use strict'

const { Kafka, CompressionTypes, Partitioners, logLevel } = require('kafkajs')
// Internal modules of kafkajs 2.2.4 (pinned in package.json): see "Consuming" above.
const Cluster = require('kafkajs/src/cluster')
const { createLogger } = require('kafkajs/src/loggers')
const LoggerConsole = require('kafkajs/src/loggers/console')
const socketFactory = require('kafkajs/src/network/socketFactory')

const DEADLINE_MS = 45000
const PARTITIONS = 3
const KEYS = 37
const BATCH_RECORDS = 100
const FETCH_MAX_BYTES = 1024 * 1024
const READ_COMMITTED = 1

const [broker, topic, countArg] = process.argv.slice(2)
if (!broker || !topic) {
  console.error('usage: node produce-consume.js <host:port> <topic> [records]')
  process.exit(64)
}
const count = countArg === undefined ? 1000 : parseInt(countArg, 10)

const key = i => `key-${i % KEYS}`
const value = i => `value-${i}-${'abcdefgh'.repeat(1 + (i % 8))}`

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`)
  }
}

async function produce(kafka) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const acked = []
  try {
    for (let from = 0; from < count; from += BATCH_RECORDS) {
      const messages = []
      for (let i = from; i < Math.min(count, from + BATCH_RECORDS); i++) {
        messages.push({ key: key(i), value: value(i), headers: { i: String(i) } })
      }
      const compression = (from / BATCH_RECORDS) % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP
      const metadata = await producer.send({ topic, messages, acks: -1, compression })
      for (const m of metadata) {
        check(m.errorCode === 0, `produce error ${m.errorCode} on partition ${m.partition}`)
        acked.push(m)
      }
    }
  } finally {
    await producer.disconnect()
  }
  return acked
}

async function readPartition(cluster, partition, leader, highWatermark) {
  const b = await cluster.findBroker({ nodeId: leader })
  const records = []
  let offset = 0
  while (offset < highWatermark) {
    const response = await b.fetch({
      replicaId: -1,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: FETCH_MAX_BYTES }] }],
    })
    const p = response.responses[0].partitions[0]
    check(p.errorCode === 0, `fetch error ${p.errorCode} on partition ${partition} at offset ${offset}`)
    // A fetch answers from the start of the batch holding the offset: skip what was read already.
    for (const m of p.messages.filter(m => Number(m.offset) >= offset)) {
      check(Number(m.offset) === offset, `partition ${partition}: offset ${m.offset} where ${offset} was expected`)
      records.push(m)
      offset++
    }
  }
  return records
}

async function consume(kafka, highWatermarks) {
  const cluster = new Cluster({
    logger: createLogger({ level: logLevel.WARN, logCreator: LoggerConsole }),
    socketFactory: socketFactory(),
    brokers: [broker],
    clientId: 'fjord-interop-reader',
    connectionTimeout: 3000,
    requestTimeout: 10000,
    allowAutoTopicCreation: false,
  })
  await cluster.connect()
  try {
    await cluster.addTargetTopic(topic)
    const consumed = []
    for (const { partitionId, leader } of cluster.findTopicPartitionMetadata(topic)) {
      consumed.push({ partition: partitionId, records: await readPartition(cluster, partitionId, leader, highWatermarks[partitionId]) })
    }
    return consumed
  } finally {
    await cluster.disconnect()
  }
}

async function main() {
  const kafka = new Kafka({ brokers: [broker], clientId: 'fjord-interop', logLevel: logLevel.WARN })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true })
    check(created, `topic ${topic} already existed`)

    const acked = await produce(kafka)
    check(acked.length > 0, 'no produce acknowledgements')

    const highWatermarks = {}
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      highWatermarks[partition] = Number(high)
    }
    const total = Object.values(highWatermarks).reduce((a, b) => a + b, 0)
    check(total === count, `high watermarks add up to ${total}, expected ${count}`)

    const seen = new Set()
    const partitionOfKey = new Map()
    const perPartition = {}
    for (const { partition, records } of await consume(kafka, highWatermarks)) {
      let last = -1
      for (const m of records) {
        const i = parseInt(m.headers.i.toString(), 10)
        const where = `partition ${partition} offset ${m.offset}`
        check(m.key.toString() === key(i), `${where}: key ${m.key} for record ${i}`)
        check(m.value.toString() === value(i), `${where}: wrong value for record ${i}`)
        check(i > last, `${where}: record ${i} after record ${last}`)
        check(!seen.has(i), `${where}: record ${i} twice`)
        const p = partitionOfKey.get(key(i))
        check(p === undefined || p === partition, `${where}: key ${key(i)} in partitions ${p} and ${partition}`)
        partitionOfKey.set(key(i), partition)
        seen.add(i)
        last = i
      }
      perPartition[partition] = records.length
    }
    check(seen.size === count, `read ${seen.size} distinct records, expected ${count}`)
    console.log(JSON.stringify({ produced: count, consumed: seen.size, perPartition }))
  } finally {
    await admin.disconnect()
  }
}

const deadline = setTimeout(() => {
  console.error(`deadline of ${DEADLINE_MS} ms passed`)
  process.exit(2)
}, DEADLINE_MS)

main().then(
  () => {
    clearTimeout(deadline)
    process.exit(0)
  },
  err => {
    console.error(err && err.stack ? err.stack : String(err))
    process.exit(1)
  }
)
