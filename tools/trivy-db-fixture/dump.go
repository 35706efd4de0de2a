package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dump writes one line per bucket and per key of a BoltDB, sorted, so two databases can be
// compared by their records rather than their bytes (page layout differs between builds):
//
//	bucket ["npm::GitHub Security Advisory npm"]
//	key ["npm::GitHub Security Advisory npm","lodash","CVE-2020-28500"] {"PatchedVersions":[...],...}
//
// Lines are ordered by path (component by component, bytewise, a bucket before its contents).
// Paths are JSON arrays of strings; values that are JSON are re-encoded with sorted keys,
// anything else is printed as a quoted Go string.
func dump(path string, w io.Writer) error {
	d, err := bolt.Open(path, 0o444, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer d.Close()

	var lines []dumpLine
	err = d.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return walkBucket(b, []string{string(name)}, &lines)
		})
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(lines, func(a, b dumpLine) int {
		return slices.Compare(a.path, b.path)
	})
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l.text); err != nil {
			return err
		}
	}
	return nil
}

type dumpLine struct {
	path []string
	text string
}

func walkBucket(b *bolt.Bucket, path []string, lines *[]dumpLine) error {
	line := "bucket " + jsonPath(path)
	if seq := b.Sequence(); seq != 0 {
		line += " sequence=" + strconv.FormatUint(seq, 10)
	}
	*lines = append(*lines, dumpLine{path, line})
	return b.ForEach(func(k, v []byte) error {
		p := append(append([]string(nil), path...), string(k))
		if v == nil {
			return walkBucket(b.Bucket(k), p, lines)
		}
		*lines = append(*lines, dumpLine{p, "key " + jsonPath(p) + " " + canonicalValue(v)})
		return nil
	})
}

func jsonPath(path []string) string {
	b, _ := json.Marshal(path)
	return string(b)
}

// canonicalValue re-encodes JSON with sorted object keys and numbers kept as written.
func canonicalValue(v []byte) string {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err == nil && !dec.More() {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err == nil {
			return string(bytes.TrimRight(buf.Bytes(), "\n"))
		}
	}
	return strconv.Quote(string(v))
}
