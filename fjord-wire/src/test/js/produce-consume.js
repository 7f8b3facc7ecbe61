#!/usr/bin/env node
// Interop check of Fjord with kafkajs, run by KafkajsTest:
//
//   node produce-consume.js <host:port> <topic> [records] [group]
//
// Creates the topic (3 partitions) with the admin client, produces the records with the
// producer (keyed, with a header, half of the batches gzip-compressed, acks=all), reads the high
// watermarks with admin.fetchTopicOffsets (ListOffsets), then consumes every record with a
// consumer group (kafka.consumer({ groupId }), from the beginning: FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, Fetch), checks each one, and commits the high watermark of every
// partition (OffsetCommit) before leaving. KafkajsTest checks the committed offsets from Java.
// Prints one JSON summary line on success; exits 1 with the reason on the first mismatch, 2 when
// the overall deadline passes.
'use strict'

const { Kafka, CompressionTypes, Partitioners, logLevel } = require('kafkajs')

const DEADLINE_MS = 45000
const PARTITIONS = 3
const KEYS = 37
const BATCH_RECORDS = 100

const [broker, topic, countArg, groupArg] = process.argv.slice(2)
if (!broker || !topic) {
  console.error('usage: node produce-consume.js <host:port> <topic> [records] [group]')
  process.exit(64)
}
const count = countArg === undefined ? 1000 : parseInt(countArg, 10)
const groupId = groupArg === undefined ? `${topic}-group` : groupArg

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

// Consumes until every one of the count records has arrived, then commits, per partition, the
// offset after its last record, and leaves the group.
async function consume(kafka, highWatermarks) {
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const byPartition = {}
    let received = 0
    let settle
    const all = new Promise((resolve, reject) => {
      settle = { resolve, reject }
    })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        try {
          const records = byPartition[partition] || (byPartition[partition] = [])
          // A fresh group reading from the beginning: offsets dense from 0, nothing twice.
          check(Number(message.offset) === records.length,
            `partition ${partition}: offset ${message.offset} where ${records.length} was expected`)
          records.push(message)
          if (++received === count) {
            settle.resolve()
          }
        } catch (e) {
          settle.reject(e)
        }
      },
    })
    await all
    const commits = Object.entries(byPartition).map(([p, records]) => {
      check(records.length === highWatermarks[p], `partition ${p}: ${records.length} records, high watermark ${highWatermarks[p]}`)
      return { topic, partition: Number(p), offset: String(records.length) }
    })
    await consumer.commitOffsets(commits)
    return Object.entries(byPartition).map(([p, records]) => ({ partition: Number(p), records }))
  } finally {
    await consumer.disconnect()
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
    console.log(JSON.stringify({ produced: count, consumed: seen.size, perPartition, groupId }))
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
