// The `test` every spec imports: Playwright's, plus a check that the page threw nothing and a private kernel.
import { test as base, expect } from '@playwright/test';
import { Kernel } from './kernel';

type Fixtures = {
  /** Uncaught exceptions of any page of the test (a wasm panic lands here); checked to be empty at the end. */
  pageErrors: Error[];
  /** A kernel of the test's own on a free port, killed after the test; for specs that drop connections. */
  ownKernel: Kernel;
};

export const test = base.extend<Fixtures>({
  pageErrors: [
    async ({ context }, use) => {
      const errors: Error[] = [];
      context.on('weberror', (e) => errors.push(e.error()));
      await use(errors);
      expect(errors.map((e) => e.message), 'uncaught exceptions in the page').toEqual([]);
    },
    { auto: true },
  ],
  ownKernel: async ({}, use) => {
    const kernel = await Kernel.start();
    try {
      await use(kernel);
    } finally {
      await kernel.kill();
    }
  },
});

export { expect };
