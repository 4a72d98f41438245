package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leadscore/leadscore/infra/localapi"
)

// requestMeter stands between the functions (and the SQS event sources) and
// the emulators when the stack runs with -meter: one reverse proxy per caller
// and service, so every DynamoDB and SQS request is counted by who made it
// and which operation it was, and DynamoDB's consumed capacity is summed
// from the responses. The load tool (infra/load) reads the counts at
// localapi.RequestsPath on the invoke address, and zeroes them with DELETE, to
// report request units and SQS requests per accepted event.
type requestMeter struct {
	mu      sync.Mutex
	stats   map[meterKey]*OpStats
	servers []*http.Server
}

type meterKey struct{ service, caller, op string }

// OpStats are one caller's requests of one operation.
type OpStats = localapi.OpStats

func newRequestMeter() *requestMeter {
	return &requestMeter{stats: map[meterKey]*OpStats{}}
}

// proxy starts a counting reverse proxy to target for caller's requests to
// service ("dynamodb" or "sqs") and returns its URL.
func (m *requestMeter) proxy(service, caller, target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("meter proxy target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("meter proxy for %s %s: %w", caller, service, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	rp.ModifyResponse = func(resp *http.Response) error {
		m.record(service, caller, resp)
		return nil
	}
	// The operation is named with what it touched (the item kind of its key,
	// or the index), so a cost breakdown says which writes dominate.
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		op := req.Header.Get("X-Amz-Target")
		if _, after, ok := strings.Cut(op, "."); ok {
			op = after
		}
		if service == "dynamodb" && req.Body != nil {
			body, _ := io.ReadAll(req.Body)
			_ = req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(body))
			op += itemKind(body)
			// Asking for INDEXES instead of TOTAL splits the same units by
			// table and index; the caller's SDK reads the answer the same
			// way. DynamoDB Local does not check the payload signature.
			if b := bytes.Replace(body, []byte(`"ReturnConsumedCapacity":"TOTAL"`), []byte(`"ReturnConsumedCapacity":"INDEXES"`), 1); len(b) != len(body) {
				body = b
				req.Body = io.NopCloser(bytes.NewReader(body))
				req.ContentLength = int64(len(body))
				req.Header.Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
		rp.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), opKey{}, op)))
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	m.mu.Lock()
	m.servers = append(m.servers, srv)
	m.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// record counts one answered request. The body is read and put back, so the
// caller sees the emulator's answer unchanged.
func (m *requestMeter) record(service, caller string, resp *http.Response) {
	op, _ := resp.Request.Context().Value(opKey{}).(string)
	if op == "" {
		op = "(query protocol)"
	}
	var body []byte
	if resp.Header.Get("Content-Encoding") == "" {
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	units, byIndex, empty := parseAnswer(op, body)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := meterKey{service, caller, op}
	s := m.stats[k]
	if s == nil {
		s = &OpStats{Service: service, Caller: caller, Op: op}
		m.stats[k] = s
	}
	s.Requests++
	s.CapacityUnits += units
	for k, v := range byIndex {
		if s.ByIndex == nil {
			s.ByIndex = map[string]float64{}
		}
		s.ByIndex[k] += v
	}
	if resp.StatusCode/100 != 2 {
		s.Errors++
		if bytes.Contains(body, []byte("ConditionalCheckFailed")) {
			s.ConditionalFailed++
		}
	}
	if empty {
		s.EmptyReceives++
	}
	if service == "sqs" {
		s.BilledRequests += sqsChunks(resp.Request.ContentLength, len(body))
	}
}

type opKey struct{}

// itemKind names what a DynamoDB request touches, from docs/design.md's key
// layout: " lead", " event", " rules", " rescore", " account" by the sort
// or partition key prefix, " index <name>" for index queries.
func itemKind(body []byte) string {
	var req struct {
		IndexName string
		Key, Item struct {
			PK struct{ S string } `json:"pk"`
			SK struct{ S string } `json:"sk"`
		}
		ExpressionAttributeValues map[string]struct{ S string }
	}
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	if req.IndexName != "" {
		return " index " + req.IndexName
	}
	pk, sk := req.Key.PK.S+req.Item.PK.S, req.Key.SK.S+req.Item.SK.S
	if pk == "" && sk == "" {
		// A query names its partition in the expression values (beside,
		// perhaps, a sort key prefix such as "#").
		for _, v := range req.ExpressionAttributeValues {
			if v.S == "RULES" || slices.ContainsFunc(partitionPrefixes, func(p string) bool { return strings.HasPrefix(v.S, p) }) {
				pk = v.S
				break
			}
		}
	}
	switch {
	case sk == "#LEAD":
		return " lead"
	case strings.HasPrefix(sk, "EVENT#"):
		return " event"
	case pk == "RULES" || strings.HasPrefix(sk, "V#"):
		return " rules"
	case strings.HasPrefix(pk, "RESCORE#"):
		return " rescore"
	case strings.HasPrefix(pk, "LEAD#"):
		return " lead partition"
	case strings.HasPrefix(pk, "ACCOUNT#"):
		return " account"
	}
	return ""
}

// partitionPrefixes are the partition key prefixes of docs/design.md.
var partitionPrefixes = []string{"LEAD#", "ACCOUNT#", "RESCORE#"}

// parseAnswer reads the consumed capacity of a DynamoDB answer (one object,
// or a list for batch operations), split by table and index when the answer
// has the split, and whether an SQS ReceiveMessage answer was empty.
func parseAnswer(op string, body []byte) (units float64, byIndex map[string]float64, emptyReceive bool) {
	if len(body) == 0 {
		// The SQS emulator answers an empty receive with an empty body.
		return 0, nil, op == "ReceiveMessage"
	}
	var doc struct {
		ConsumedCapacity json.RawMessage `json:"ConsumedCapacity"`
		Messages         []json.RawMessage
	}
	if json.Unmarshal(body, &doc) != nil {
		return 0, nil, false
	}
	type part struct{ CapacityUnits float64 }
	type cc struct {
		CapacityUnits          float64
		Table                  *part
		GlobalSecondaryIndexes map[string]part
		LocalSecondaryIndexes  map[string]part
	}
	var list []cc
	switch {
	case len(doc.ConsumedCapacity) == 0:
	case doc.ConsumedCapacity[0] == '[':
		_ = json.Unmarshal(doc.ConsumedCapacity, &list)
	default:
		var one cc
		if json.Unmarshal(doc.ConsumedCapacity, &one) == nil {
			list = []cc{one}
		}
	}
	for _, c := range list {
		units += c.CapacityUnits
		if c.Table == nil {
			continue
		}
		if byIndex == nil {
			byIndex = map[string]float64{}
		}
		byIndex["table"] += c.Table.CapacityUnits
		for name, p := range c.GlobalSecondaryIndexes {
			byIndex[name] += p.CapacityUnits
		}
		for name, p := range c.LocalSecondaryIndexes {
			byIndex[name] += p.CapacityUnits
		}
	}
	return units, byIndex, op == "ReceiveMessage" && len(doc.Messages) == 0
}

// ServeHTTP answers GET with the counts so far (sorted) and DELETE by
// zeroing them.
func (m *requestMeter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch req.Method {
	case http.MethodDelete:
		m.stats = map[meterKey]*OpStats{}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		out := make([]OpStats, 0, len(m.stats))
		for _, s := range m.stats {
			out = append(out, *s)
		}
		sort.Slice(out, func(i, j int) bool {
			a, b := out[i], out[j]
			if a.Service != b.Service {
				return a.Service < b.Service
			}
			if a.Caller != b.Caller {
				return a.Caller < b.Caller
			}
			return a.Op < b.Op
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(localapi.Requests{Requests: out})
	default:
		http.Error(w, "GET or DELETE", http.StatusMethodNotAllowed)
	}
}

func (m *requestMeter) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.servers {
		_ = s.Close()
	}
}
