package pipe

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestOrderAndRecycling(t *testing.T) {
	var out bytes.Buffer
	finished := 0
	p := New(Config{Size: 16, Queue: 2}, func(b []byte) error {
		out.Write(b)
		return nil
	}, func(err error) error {
		finished++
		return err
	})
	b := p.Get()
	var want bytes.Buffer
	for i := 0; i < 1000; i++ {
		line := fmt.Sprintf("%d\n", i)
		want.WriteString(line)
		b = append(b, line...)
		if len(b) >= p.Size() {
			b = p.Put(b)
		}
	}
	b = p.Put(b)
	if len(b) != 0 {
		t.Fatalf("Put returned a non-empty buffer")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("output differs")
	}
	if finished != 1 {
		t.Errorf("finish called %d times", finished)
	}
	st := p.Stats()
	if st.Bytes != uint64(want.Len()) || st.Allocs > 2+2+1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFirstError(t *testing.T) {
	e1, e2 := errors.New("first"), errors.New("second")
	calls := 0
	p := New(Config{Size: 4, Queue: 1}, func([]byte) error {
		calls++
		if calls == 1 {
			return nil
		}
		if calls == 2 {
			return e1
		}
		return e2
	}, func(err error) error {
		if err != e1 {
			t.Errorf("finish got %v", err)
		}
		return errors.New("finish")
	})
	for i := 0; i < 10; i++ {
		p.Put([]byte("abcd"))
	}
	if err := p.Close(); err != e1 {
		t.Fatalf("Close = %v", err)
	}
	if calls != 2 {
		t.Errorf("consume called %d times after the error", calls)
	}
	if st := p.Stats(); st.Buffers != 10 {
		t.Errorf("%d buffers drained", st.Buffers)
	}
	p2 := New(Config{}, nil, func(error) error { return e2 })
	if err := p2.Close(); err != e2 {
		t.Errorf("finish error lost: %v", err)
	}
}

func TestStall(t *testing.T) {
	gate := make(chan struct{})
	p := New(Config{Size: 1, Queue: 2}, func([]byte) error { <-gate; return nil }, nil)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 6; i++ { // 1 in the writer + 2 queued, then it waits
			p.Put([]byte{byte(i)})
		}
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Stalls == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no stall")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("Put returned with the queue full")
	default:
	}
	close(gate)
	<-done
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStamps(t *testing.T) {
	type got struct {
		b     string
		stamp int64
	}
	var out []got
	p := NewStamped(Config{Size: 8, Queue: 4}, func(b []byte, stamp int64) error {
		out = append(out, got{string(b), stamp})
		return nil
	}, nil)
	p.PutAt([]byte("a\n"), 7)
	p.Put([]byte("b\n"))
	p.PutAt([]byte("c\n"), -3)
	p.PutAt(nil, 9) // empty: nothing handed over
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := []got{{"a\n", 7}, {"b\n", 0}, {"c\n", -3}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("consumed %v, want %v", out, want)
	}
}

func TestMarks(t *testing.T) {
	var got []string
	p := NewStamped(Config{Size: 8, Queue: 4, Mark: func(from int, stamp int64) {
		got = append(got, fmt.Sprintf("mark %d@%d", from, stamp))
	}}, func(b []byte, stamp int64) error {
		got = append(got, fmt.Sprintf("%q@%d", b, stamp))
		return nil
	}, nil)
	p.PutAt([]byte("a\n"), 5)
	p.Mark(1, 10)
	p.PutAt([]byte("b\n"), 12)
	p.Mark(0, 20)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{`"a\n"@5`, "mark 1@10", `"b\n"@12`, "mark 0@20"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("writer saw %v, want %v", got, want)
	}
	if st := p.Stats(); st.Buffers != 2 {
		t.Errorf("%d buffers counted, want 2 (marks are not buffers)", st.Buffers)
	}
}
