// expect(actual, message): the tests pass an event's `error` as the failure message, and the API
// types it `string | null` (null when there was none). Chai takes a null message as no message
// (it only prints a truthy one), so expect's type says so too.
import '@vitest/expect';

declare module '@vitest/expect' {
  interface ExpectStatic {
    <T>(actual: T, message?: string | null): Assertion<T>;
  }
}
