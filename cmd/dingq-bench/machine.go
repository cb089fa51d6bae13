package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the benchmark ran, for the table's heading.
func machine() string {
	cpu := firstValue("/proc/cpuinfo", "model name")
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	mem := ""
	total, _, _ := strings.Cut(firstValue("/proc/meminfo", "MemTotal"), " ") // "24579384 kB"
	if kb, err := strconv.ParseFloat(total, 64); err == nil && kb > 0 {
		mem = fmt.Sprintf(", %.1f GiB", kb/(1<<20))
	}
	return fmt.Sprintf("%s · %s, %d cores%s · %s %s/%s · %s",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpu, runtime.NumCPU(), mem,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, revision())
}

// firstValue returns the value of the first "key : value" line of a /proc file.
func firstValue(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// revision names the commit measured, and whether the tree had uncommitted changes.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "dingq (commit unknown)"
	}
	rev := "dingq " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}
