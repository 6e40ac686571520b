// A Sarama (Debian's golang-github-shopify-sarama-dev, 1.22) client for Brook's compatibility
// tests, built in GOPATH mode by test/compat/go/go-build.ts. Every line it prints on stdout is one
// JSON object; the test reads them and checks the records exactly.
//
//	sarama-client produce -brokers B -topic T -codec C -count N -prefix P [-partitioner P] [-version V]
//	    An idempotent producer sends N records (keys P-key-<i mod 3>, values P-value-<i>, a header
//	    naming the codec) and prints each one's partition and offset; a refused record prints an
//	    error event with Kafka's error code and the program exits 2. The hash partitioner (the
//	    default) places by key; round-robin puts records on every partition in turn.
//	sarama-client consume -brokers B -topic T -group G -expect N [-version V]
//	    A consumer-group member reads from the committed offsets (the oldest when none), marks and
//	    prints each record, and leaves once it has N, committing what it marked.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

var output = json.NewEncoder(os.Stdout)

func emit(event map[string]interface{}) {
	if err := output.Encode(event); err != nil {
		fmt.Fprintln(os.Stderr, "cannot write to stdout:", err)
		os.Exit(1)
	}
}

func fail(format string, arguments ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", arguments...)
	os.Exit(1)
}

var codecs = map[string]sarama.CompressionCodec{
	"none":   sarama.CompressionNone,
	"gzip":   sarama.CompressionGZIP,
	"snappy": sarama.CompressionSnappy,
	"lz4":    sarama.CompressionLZ4,
	"zstd":   sarama.CompressionZSTD,
}

func newConfig(version string) *sarama.Config {
	parsed, err := sarama.ParseKafkaVersion(version)
	if err != nil {
		fail("bad -version %q: %v", version, err)
	}
	config := sarama.NewConfig()
	config.ClientID = "brook-sarama-test"
	config.Version = parsed
	config.Metadata.Retry.Backoff = 100 * time.Millisecond
	return config
}

func produce(arguments []string) {
	flags := flag.NewFlagSet("produce", flag.ExitOnError)
	brokers := flags.String("brokers", "", "bootstrap servers, comma-separated")
	topic := flags.String("topic", "", "topic")
	codecName := flags.String("codec", "none", "none, gzip, snappy, lz4 or zstd")
	count := flags.Int("count", 10, "records to send")
	prefix := flags.String("prefix", "record", "prefix of keys and values")
	partitioner := flags.String("partitioner", "hash", "hash or roundrobin")
	version := flags.String("version", "2.1.0", "Kafka version Sarama assumes")
	flags.Parse(arguments)
	codec, known := codecs[*codecName]
	if !known {
		fail("unknown codec %q", *codecName)
	}

	config := newConfig(*version)
	config.Producer.Idempotent = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Producer.Compression = codec
	config.Producer.Retry.Max = 5
	config.Producer.Retry.Backoff = 100 * time.Millisecond
	switch *partitioner {
	case "hash":
		config.Producer.Partitioner = sarama.NewHashPartitioner
	case "roundrobin":
		config.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	default:
		fail("unknown -partitioner %q", *partitioner)
	}
	config.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer(strings.Split(*brokers, ","), config)
	if err != nil {
		fail("cannot start the producer: %v", err)
	}
	defer producer.Close()

	messages := make([]*sarama.ProducerMessage, *count)
	for index := range messages {
		messages[index] = &sarama.ProducerMessage{
			Topic:   *topic,
			Key:     sarama.StringEncoder(fmt.Sprintf("%s-key-%d", *prefix, index%3)),
			Value:   sarama.StringEncoder(fmt.Sprintf("%s-value-%d", *prefix, index)),
			Headers: []sarama.RecordHeader{{Key: []byte("codec"), Value: []byte(*codecName)}},
		}
	}
	if err := producer.SendMessages(messages); err != nil {
		if errors, ok := err.(sarama.ProducerErrors); ok {
			for _, failed := range errors {
				code := -1
				if kafkaError, ok := failed.Err.(sarama.KError); ok {
					code = int(kafkaError)
				}
				emit(map[string]interface{}{"event": "error", "code": code, "error": failed.Err.Error()})
			}
			os.Exit(2)
		}
		fail("produce failed: %v", err)
	}
	for _, message := range messages {
		key, _ := message.Key.Encode()
		value, _ := message.Value.Encode()
		emit(map[string]interface{}{
			"event": "produced", "partition": message.Partition, "offset": message.Offset,
			"key": string(key), "value": string(value),
		})
	}
}

// member marks every record it prints and cancels the session once it has printed `expect`.
type member struct {
	expect  int
	mutex   sync.Mutex
	printed int
	cancel  context.CancelFunc
}

func (m *member) Setup(session sarama.ConsumerGroupSession) error {
	emit(map[string]interface{}{"event": "assigned", "claims": session.Claims()})
	return nil
}

func (m *member) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *member) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for message := range claim.Messages() {
		headers := map[string]string{}
		for _, header := range message.Headers {
			headers[string(header.Key)] = string(header.Value)
		}
		m.mutex.Lock()
		emit(map[string]interface{}{
			"event": "record", "partition": message.Partition, "offset": message.Offset,
			"key": string(message.Key), "value": string(message.Value), "headers": headers,
		})
		session.MarkMessage(message, "")
		m.printed++
		if m.printed >= m.expect {
			m.cancel()
		}
		m.mutex.Unlock()
	}
	return nil
}

func consume(arguments []string) {
	flags := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := flags.String("brokers", "", "bootstrap servers, comma-separated")
	topic := flags.String("topic", "", "topic")
	group := flags.String("group", "", "consumer group")
	expect := flags.Int("expect", 1, "records to read before leaving")
	version := flags.String("version", "2.1.0", "Kafka version Sarama assumes")
	flags.Parse(arguments)

	config := newConfig(*version)
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Return.Errors = true
	config.Consumer.Group.Rebalance.Strategy = sarama.BalanceStrategyRange
	consumerGroup, err := sarama.NewConsumerGroup(strings.Split(*brokers, ","), *group, config)
	if err != nil {
		fail("cannot join: %v", err)
	}
	go func() {
		for err := range consumerGroup.Errors() {
			fmt.Fprintln(os.Stderr, "consumer error:", err)
		}
	}()
	running, cancel := context.WithCancel(context.Background())
	handler := &member{expect: *expect, cancel: cancel}
	for running.Err() == nil {
		if err := consumerGroup.Consume(running, []string{*topic}, handler); err != nil {
			fail("consume failed: %v", err)
		}
	}
	// Close leaves the group and commits what was marked.
	if err := consumerGroup.Close(); err != nil {
		fail("close failed: %v", err)
	}
	emit(map[string]interface{}{"event": "done", "count": handler.printed})
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sarama-client produce|consume [flags]")
	}
	switch os.Args[1] {
	case "produce":
		produce(os.Args[2:])
	case "consume":
		consume(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
