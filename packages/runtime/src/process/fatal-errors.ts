// The last line of defence: an exception nobody caught, or a rejection nobody handled, must not end the
// daemon silently or half-way. The handler logs it at fatal with `{ err }` and runs the normal shutdown
// (readiness red, schedules stopped, jobs aborted, temp files removed); the process then exits with
// EXIT_FATAL, so that systemd's `Restart=on-failure` brings it back.

/** EX_SOFTWARE (sysexits.h): an internal error. Any non-zero code makes systemd restart the unit. */
export const EXIT_FATAL = 70;

export type FatalOrigin = 'uncaughtException' | 'unhandledRejection';

/** Routes both kinds to `onFatal`; returns the function that removes the handlers. */
export function installFatalHandlers(onFatal: (err: unknown, origin: FatalOrigin) => void): () => void {
  const onException = (err: unknown) => onFatal(err, 'uncaughtException');
  const onRejection = (reason: unknown) => onFatal(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
