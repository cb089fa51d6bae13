package producer_test

import (
	"strings"
	"testing"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/schema/producer"
)

func TestReadKnowsEachJobsLines(t *testing.T) {
	in := `{"link":"https://oapi.dingtalk.com/robot/send?access_token=a","data":[{"msgtype":"text","text":{"content":"1"}}]}
{"link":"https://oapi.dingtalk.com/robot/send?access_token=a",
 "data":[{"msgtype":"text","text":{"content":"2"}}]}

{"link":"https://oapi.dingtalk.com/robot/send?access_token=a","data":[{"msgtype":"text","text":{"content":"3"}}]} {"link":"https://oapi.dingtalk.com/robot/send?access_token=a","data":[{"msgtype":"text","text":{"content":"4"}}]}
`
	entries, err := producer.Read(strings.NewReader(in), schema.KindRobot)
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]int{{1, 1, 1}, {2, 2, 3}, {3, 5, 5}, {4, 5, 5}}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if got := [3]int{e.N, e.Line, e.Last}; got != want[i] || e.Kind != schema.KindRobot || strings.Contains(string(e.Body), "\n") {
			t.Errorf("entry %d: n, line, last %v, kind %s, body %s; want %v, robot, compacted", i, got, e.Kind, e.Body, want[i])
		}
	}
	if got := producer.Lines(entries[1:]); got != "lines 2-5" {
		t.Errorf("Lines = %q", got)
	}
}

func TestReadRefusesTheWholeInputForOneBadJob(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"cardTemplateId":"x"}` + "\n" + `{"cardTemplateId":"y"}`, "2 invalid card job(s):\njob 1"},
		{`{"cardTemplateId":"x"}` + "\n{", "job 2 is not JSON"},
		{"  \n", "no job"},
	} {
		entries, err := producer.Read(strings.NewReader(c.in), schema.KindCard)
		if err == nil || !strings.Contains(err.Error(), c.want) || entries != nil {
			t.Errorf("Read(%q) = %d entries, %v; want none and %q", c.in, len(entries), err, c.want)
		}
	}
}

func TestLines(t *testing.T) {
	entry := func(n, line, last int) producer.Entry { return producer.Entry{N: n, Line: line, Last: last} }
	cases := []struct {
		entries []producer.Entry
		want    string
	}{
		{[]producer.Entry{entry(4, 4, 4)}, "line 4"},
		{[]producer.Entry{entry(4, 5, 7)}, "lines 5-7"},
		{[]producer.Entry{entry(4, 4, 4), entry(5, 5, 5), entry(6, 6, 6)}, "lines 4-6"},
		{[]producer.Entry{entry(2, 2, 2), entry(4, 4, 4), entry(5, 6, 9)}, "lines 2, 4-9"},
		// Two jobs on one line.
		{[]producer.Entry{entry(1, 1, 1), entry(2, 1, 1)}, "line 1"},
		{[]producer.Entry{entry(1, 1, 1), entry(3, 1, 1), entry(5, 2, 2)}, "lines 1, 2"},
	}
	for _, c := range cases {
		if got := producer.Lines(c.entries); got != c.want {
			t.Errorf("Lines(%v) = %q, want %q", c.entries, got, c.want)
		}
	}
}
