package template

import (
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Function is one AWS::Serverless::Function with the Globals applied.
type Function struct {
	LogicalID     string
	CodeURI       string
	Handler       string
	Runtime       string
	Architectures []string
	BuildMethod   string
	Timeout       time.Duration
	MemorySize    int
	// Env is the function's environment, Globals first, values unresolved
	// (see Resolver).
	Env      map[string]any
	Events   map[string]Event
	Policies []any
}

// Event is one event source of a function.
type Event struct {
	Type       string
	Properties map[string]any
}

type functionProps struct {
	CodeURI       any      `json:"CodeUri"`
	Handler       string   `json:"Handler"`
	Runtime       string   `json:"Runtime"`
	Architectures []string `json:"Architectures"`
	Timeout       Int      `json:"Timeout"`
	MemorySize    Int      `json:"MemorySize"`
	Environment   struct {
		Variables map[string]any `json:"Variables"`
	} `json:"Environment"`
	Events   map[string]Event `json:"Events"`
	Policies any              `json:"Policies"`
}

// Functions lists the functions, sorted by logical id.
func (t *Template) Functions() ([]Function, error) {
	var fns []Function
	for _, id := range t.ResourcesOfType(TypeFunction) {
		fn, err := t.Function(id)
		if err != nil {
			return nil, err
		}
		fns = append(fns, fn)
	}
	return fns, nil
}

// Function returns the function with logical id, Globals applied the way SAM
// applies them: the function's scalars win, environment maps merge.
func (t *Template) Function(id string) (Function, error) {
	r, ok := t.Resources[id]
	if !ok || r.Type != TypeFunction {
		return Function{}, fmt.Errorf("template has no function %s", id)
	}
	merged := map[string]any{}
	maps.Copy(merged, t.Globals.Function)
	maps.Copy(merged, r.Properties)
	var p functionProps
	if err := decodeInto(merged, &p); err != nil {
		return Function{}, fmt.Errorf("function %s: %w", id, err)
	}
	var global functionProps
	if err := decodeInto(t.Globals.Function, &global); err != nil {
		return Function{}, fmt.Errorf("Globals.Function: %w", err)
	}
	env := map[string]any{}
	maps.Copy(env, global.Environment.Variables)
	var own functionProps
	if err := decodeInto(r.Properties, &own); err != nil {
		return Function{}, fmt.Errorf("function %s: %w", id, err)
	}
	maps.Copy(env, own.Environment.Variables)

	codeURI, _ := p.CodeURI.(string)
	fn := Function{
		LogicalID:     id,
		CodeURI:       codeURI,
		Handler:       p.Handler,
		Runtime:       p.Runtime,
		Architectures: p.Architectures,
		Timeout:       time.Duration(p.Timeout) * time.Second,
		MemorySize:    int(p.MemorySize),
		Env:           env,
		Events:        p.Events,
	}
	if fn.Timeout == 0 {
		fn.Timeout = 3 * time.Second // Lambda's default
	}
	if bm, ok := r.Metadata["BuildMethod"].(string); ok {
		fn.BuildMethod = bm
	}
	switch pol := p.Policies.(type) {
	case []any:
		fn.Policies = pol
	case nil:
	default:
		fn.Policies = []any{pol}
	}
	return fn, nil
}

// Route is one HttpApi route.
type Route struct {
	Function string // logical id
	Event    string // event name
	Method   string // upper case; ANY matches every method
	Path     string // e.g. /v1/leads/{lead_id}
	API      string // logical id of the HttpApi; empty for the implicit API
}

// Key is the API Gateway route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes lists every HttpApi route of every function, sorted by path then method.
func (t *Template) Routes() ([]Route, error) {
	fns, err := t.Functions()
	if err != nil {
		return nil, err
	}
	var routes []Route
	for _, fn := range fns {
		for name, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			var p struct {
				Method string `json:"Method"`
				Path   string `json:"Path"`
				ApiID  any    `json:"ApiId"`
			}
			if err := decodeInto(ev.Properties, &p); err != nil {
				return nil, fmt.Errorf("%s event %s: %w", fn.LogicalID, name, err)
			}
			if p.Method == "" || p.Path == "" {
				return nil, fmt.Errorf("%s event %s: an HttpApi event needs Method and Path", fn.LogicalID, name)
			}
			api, _ := RefTarget(p.ApiID)
			routes = append(routes, Route{Function: fn.LogicalID, Event: name, Method: strings.ToUpper(p.Method), Path: p.Path, API: api})
		}
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return routes, nil
}

// SQSSource is one SQS event source mapping.
type SQSSource struct {
	Function                string // logical id
	Event                   string
	Queue                   string // logical id of the queue
	BatchSize               int
	MaxBatchingWindow       time.Duration
	ReportBatchItemFailures bool
	MaximumConcurrency      int
}

// SQSSources lists every SQS event source, sorted by function.
func (t *Template) SQSSources() ([]SQSSource, error) {
	fns, err := t.Functions()
	if err != nil {
		return nil, err
	}
	var out []SQSSource
	for _, fn := range fns {
		for name, ev := range fn.Events {
			if ev.Type != "SQS" {
				continue
			}
			var p struct {
				Queue                          any      `json:"Queue"`
				BatchSize                      Int      `json:"BatchSize"`
				MaximumBatchingWindowInSeconds Int      `json:"MaximumBatchingWindowInSeconds"`
				FunctionResponseTypes          []string `json:"FunctionResponseTypes"`
				ScalingConfig                  struct {
					MaximumConcurrency Int `json:"MaximumConcurrency"`
				} `json:"ScalingConfig"`
			}
			if err := decodeInto(ev.Properties, &p); err != nil {
				return nil, fmt.Errorf("%s event %s: %w", fn.LogicalID, name, err)
			}
			queue, attr, ok := GetAttTarget(p.Queue)
			if !ok || attr != "Arn" {
				return nil, fmt.Errorf("%s event %s: Queue must be !GetAtt <queue>.Arn, got %v", fn.LogicalID, name, p.Queue)
			}
			s := SQSSource{
				Function:           fn.LogicalID,
				Event:              name,
				Queue:              queue,
				BatchSize:          int(p.BatchSize),
				MaxBatchingWindow:  time.Duration(p.MaximumBatchingWindowInSeconds) * time.Second,
				MaximumConcurrency: int(p.ScalingConfig.MaximumConcurrency),
			}
			if s.BatchSize == 0 {
				s.BatchSize = 10 // the event source mapping's default
			}
			for _, rt := range p.FunctionResponseTypes {
				if rt == "ReportBatchItemFailures" {
					s.ReportBatchItemFailures = true
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Schedule is one Schedule or ScheduleV2 event source.
type Schedule struct {
	Function   string
	Event      string
	Type       string
	Expression string
	// Every is the period of a rate() expression; zero for cron().
	Every               time.Duration
	Input               string
	MaximumRetries      int
	HasRetryPolicy      bool
	DeadLetterQueue     string // logical id, when the DLQ is a queue of the template
	HasDeadLetterConfig bool
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// ParseRate turns "rate(5 minutes)" into 5m.
func ParseRate(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return 0, fmt.Errorf("schedule expression %q is not rate(N minutes|hours|days)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule expression %q: the rate must be a positive integer", expr)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, nil
}

// Schedules lists every schedule event source.
func (t *Template) Schedules() ([]Schedule, error) {
	fns, err := t.Functions()
	if err != nil {
		return nil, err
	}
	var out []Schedule
	for _, fn := range fns {
		for name, ev := range fn.Events {
			if ev.Type != "Schedule" && ev.Type != "ScheduleV2" {
				continue
			}
			var p struct {
				Schedule           string `json:"Schedule"`
				ScheduleExpression string `json:"ScheduleExpression"`
				Input              string `json:"Input"`
				RetryPolicy        *struct {
					MaximumRetryAttempts Int `json:"MaximumRetryAttempts"`
				} `json:"RetryPolicy"`
				DeadLetterConfig *struct {
					Arn any `json:"Arn"`
				} `json:"DeadLetterConfig"`
			}
			if err := decodeInto(ev.Properties, &p); err != nil {
				return nil, fmt.Errorf("%s event %s: %w", fn.LogicalID, name, err)
			}
			s := Schedule{Function: fn.LogicalID, Event: name, Type: ev.Type, Expression: p.ScheduleExpression, Input: p.Input}
			if s.Expression == "" {
				s.Expression = p.Schedule
			}
			if strings.HasPrefix(s.Expression, "rate(") {
				if s.Every, err = ParseRate(s.Expression); err != nil {
					return nil, fmt.Errorf("%s event %s: %w", fn.LogicalID, name, err)
				}
			}
			if p.RetryPolicy != nil {
				s.HasRetryPolicy = true
				s.MaximumRetries = int(p.RetryPolicy.MaximumRetryAttempts)
			}
			if p.DeadLetterConfig != nil {
				s.HasDeadLetterConfig = true
				if id, _, ok := GetAttTarget(p.DeadLetterConfig.Arn); ok {
					s.DeadLetterQueue = id
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Queue is one AWS::SQS::Queue.
type Queue struct {
	LogicalID              string
	QueueName              string // explicit name, usually empty (CloudFormation names it)
	VisibilityTimeout      time.Duration
	MessageRetentionPeriod time.Duration
	DelaySeconds           int
	ReceiveMessageWait     time.Duration
	FIFO                   bool
	// DeadLetterQueue is the logical id of the redrive target; empty when none.
	DeadLetterQueue string
	MaxReceiveCount int
}

// Queues lists the queues, sorted by logical id.
func (t *Template) Queues() ([]Queue, error) {
	var out []Queue
	for _, id := range t.ResourcesOfType(TypeQueue) {
		var p struct {
			QueueName                     string `json:"QueueName"`
			VisibilityTimeout             *Int   `json:"VisibilityTimeout"`
			MessageRetentionPeriod        Int    `json:"MessageRetentionPeriod"`
			DelaySeconds                  Int    `json:"DelaySeconds"`
			ReceiveMessageWaitTimeSeconds Int    `json:"ReceiveMessageWaitTimeSeconds"`
			FifoQueue                     bool   `json:"FifoQueue"`
			RedrivePolicy                 *struct {
				DeadLetterTargetArn any `json:"deadLetterTargetArn"`
				MaxReceiveCount     Int `json:"maxReceiveCount"`
			} `json:"RedrivePolicy"`
		}
		if err := decodeInto(t.Resources[id].Properties, &p); err != nil {
			return nil, fmt.Errorf("queue %s: %w", id, err)
		}
		q := Queue{
			LogicalID:              id,
			QueueName:              p.QueueName,
			VisibilityTimeout:      30 * time.Second, // SQS's default
			MessageRetentionPeriod: time.Duration(p.MessageRetentionPeriod) * time.Second,
			DelaySeconds:           int(p.DelaySeconds),
			ReceiveMessageWait:     time.Duration(p.ReceiveMessageWaitTimeSeconds) * time.Second,
			FIFO:                   p.FifoQueue,
		}
		if p.VisibilityTimeout != nil {
			q.VisibilityTimeout = time.Duration(*p.VisibilityTimeout) * time.Second
		}
		if p.RedrivePolicy != nil {
			dlq, attr, ok := GetAttTarget(p.RedrivePolicy.DeadLetterTargetArn)
			if !ok || attr != "Arn" {
				return nil, fmt.Errorf("queue %s: RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn, got %v", id, p.RedrivePolicy.DeadLetterTargetArn)
			}
			q.DeadLetterQueue = dlq
			q.MaxReceiveCount = int(p.RedrivePolicy.MaxReceiveCount)
		}
		out = append(out, q)
	}
	return out, nil
}

// Table is the AWS::DynamoDB::Table, in CloudFormation's own field names.
type Table struct {
	LogicalID            string
	TableName            string
	BillingMode          string                 `json:"BillingMode"`
	AttributeDefinitions []AttributeDefinition  `json:"AttributeDefinitions"`
	KeySchema            []KeySchemaElement     `json:"KeySchema"`
	GlobalSecondaryIndex []GlobalSecondaryIndex `json:"GlobalSecondaryIndexes"`
	TTLAttribute         string
}

// AttributeDefinition is one key attribute's type.
type AttributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

// KeySchemaElement is one key of a table or index.
type KeySchemaElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

// GlobalSecondaryIndex is one GSI.
type GlobalSecondaryIndex struct {
	IndexName  string             `json:"IndexName"`
	KeySchema  []KeySchemaElement `json:"KeySchema"`
	Projection struct {
		ProjectionType   string   `json:"ProjectionType"`
		NonKeyAttributes []string `json:"NonKeyAttributes"`
	} `json:"Projection"`
}

// Table returns the one DynamoDB table; the design has exactly one.
func (t *Template) Table() (Table, error) {
	ids := t.ResourcesOfType(TypeTable)
	if len(ids) != 1 {
		return Table{}, fmt.Errorf("template has %d DynamoDB tables %v, the design has exactly one", len(ids), ids)
	}
	var tb Table
	if err := decodeInto(t.Resources[ids[0]].Properties, &tb); err != nil {
		return Table{}, fmt.Errorf("table %s: %w", ids[0], err)
	}
	tb.LogicalID = ids[0]
	var extra struct {
		TableName               string `json:"TableName"`
		TimeToLiveSpecification struct {
			AttributeName string `json:"AttributeName"`
			Enabled       bool   `json:"Enabled"`
		} `json:"TimeToLiveSpecification"`
	}
	if err := decodeInto(t.Resources[ids[0]].Properties, &extra); err != nil {
		return Table{}, fmt.Errorf("table %s: %w", ids[0], err)
	}
	tb.TableName = extra.TableName
	if extra.TimeToLiveSpecification.Enabled {
		tb.TTLAttribute = extra.TimeToLiveSpecification.AttributeName
	}
	return tb, nil
}
