// SPDX-License-Identifier: MIT
// A small TAP harness for gjs tests: each test prints "ok N - name" or "not ok N - name",
// and the process exits with status 1 when any test failed.

import System from 'system';

const tests = [];

export function test(name, body) {
    tests.push({name, body});
}

export class AssertionError extends Error {}

class SkipTest extends Error {}

// Ends the current test and reports it as skipped with @reason.
export function skip(reason) {
    throw new SkipTest(reason);
}

export function assert(condition, message) {
    if (!condition)
        throw new AssertionError(message ?? 'assertion failed');
}

export function assertEqual(actual, expected, label = 'value') {
    if (actual !== expected)
        throw new AssertionError(`${label}: expected ${expected}, got ${actual}`);
}

export function assertArrayEqual(actual, expected, label = 'array') {
    const actualList = Array.from(actual);
    const expectedList = Array.from(expected);
    if (actualList.length !== expectedList.length ||
        actualList.some((value, index) => value !== expectedList[index]))
        throw new AssertionError(`${label}: expected [${expectedList}], got [${actualList}]`);
}

export function assertClose(actual, expected, tolerance, label = 'value') {
    if (!(Math.abs(actual - expected) <= tolerance))
        throw new AssertionError(`${label}: expected ${expected} within ${tolerance}, got ${actual}`);
}

export function assertThrows(body, check, label = 'call') {
    try {
        body();
    } catch (error) {
        if (check && !check(error))
            throw new AssertionError(`${label} threw an unexpected error: ${error}`);
        return error;
    }
    throw new AssertionError(`${label} did not throw`);
}

// Runs the registered tests synchronously and exits: gjs exits with 0 after an unhandled
// promise rejection, so nothing here is asynchronous.
export function run() {
    print(`1..${tests.length}`);
    let failures = 0;
    tests.forEach(({name, body}, index) => {
        try {
            body();
            print(`ok ${index + 1} - ${name}`);
        } catch (error) {
            if (error instanceof SkipTest) {
                print(`ok ${index + 1} - ${name} # SKIP ${error.message}`);
                return;
            }
            failures++;
            print(`not ok ${index + 1} - ${name}`);
            for (const line of `${error}\n${error.stack ?? ''}`.trim().split('\n'))
                print(`# ${line}`);
        }
    });
    System.exit(failures > 0 ? 1 : 0);
}
