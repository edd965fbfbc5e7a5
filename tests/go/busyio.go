// busyio: a fixed amount of work made of many small system calls, for measuring what an
// observer costs the observed. Each of -n rounds seeks to the start of a temporary file,
// writes 64 bytes, reads them back with pread and fstats the file: four system calls, of
// which gohang's trace filter shows two (write, pread64).
//
// With -wait it prints "busyio: ready" on stderr and waits for a line on stdin before it
// starts, so an observer can attach first. It prints the work's own duration in
// nanoseconds on stdout.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "rounds of seek, write, pread, fstat")
	wait := flag.Bool("wait", false, "wait for a line on stdin before starting")
	flag.Parse()
	f, err := os.CreateTemp("", "busyio-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "busyio:", err)
		os.Exit(1)
	}
	defer os.Remove(f.Name())
	if *wait {
		fmt.Fprintln(os.Stderr, "busyio: ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	out := make([]byte, 64)
	back := make([]byte, 64)
	start := time.Now()
	for i := 0; i < *n; i++ {
		out[i%64] = byte(i)
		if _, err := f.Seek(0, 0); err != nil {
			panic(err)
		}
		if _, err := f.Write(out); err != nil {
			panic(err)
		}
		if _, err := f.ReadAt(back, 0); err != nil {
			panic(err)
		}
		if _, err := f.Stat(); err != nil {
			panic(err)
		}
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
