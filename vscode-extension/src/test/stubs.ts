// Stand-ins shared by the tests that load the extension without VS Code.

/** Something that can stand for any part of the VS Code API a test does not look at. */
export function anything(): unknown {
  const stub: unknown = new Proxy(function () {}, {
    get: (_target, prop) => (prop === "then" ? undefined : stub),
    apply: () => stub,
    construct: () => stub as object,
  });
  return stub;
}
