// Every user-visible string of the mini program, in English (zh.js has the same keys; the
// client tests check both tables against each other and against the pages). `{name}` is filled
// in by lib/i18n/index.js.
module.exports = {
  todos: {
    title: 'Todos',
    loading: 'Loading…',
    loadingMore: 'Loading more…',
    empty: 'No todos yet. Add the first one below.',
    signedOut: 'Signed out.',
    signInAgain: 'Sign in again',
    remove: 'Delete',
    retry: 'Retry',
    add: 'Add Todo',
    signOut: 'Sign out',
    goPro: 'Go Pro',
    signedOutToast: 'Signed out',
    changedElsewhere: 'This todo was changed elsewhere; reloaded it.',
    removedElsewhere: 'This todo was removed elsewhere.',
    addPicture: 'Picture',
    uploading: 'Uploading…',
    viewPicture: 'View picture',
    replacePicture: 'Replace picture',
    removePicture: 'Remove picture',
    cancel: 'Cancel',
    pictureRemoved: 'Picture removed'
  },
  addTodo: {
    title: 'Add todo',
    placeholder: 'What needs to be done?',
    add: 'Add',
    tapToRetry: 'Tap Add to try again.',
    typeFirst: 'Type a todo first',
    goPro: 'Go Pro for more todos'
  },
  pro: {
    title: 'Go Pro',
    heading: 'Todos Pro',
    grant: 'Pro raises your todo limit: keep many more todos.',
    loading: 'Loading…',
    price: '¥{amount}',
    goPro: 'Go Pro',
    checkAgain: 'Check again',
    active: 'You are Pro: your higher todo limit is on.',
    limit: 'You can keep {quota} todos and have {used}.',
    limitWithPro: 'You can keep {quota} todos ({granted} of them from Pro) and have {used}.',
    paid: 'Payment received: you are Pro',
    pending: 'Alipay has not confirmed the payment yet. Check again in a moment.',
    cancelled: 'Payment cancelled. Nothing was charged.',
    failed: 'The payment did not go through. Nothing was charged.',
    closed: 'That order was closed. Tap Go Pro to start again.'
  },
  // By the error's code (shared/miniapp/errors.py, FC's and the client's own); `other` for a code
  // not listed here.
  errors: {
    NetworkError: 'The network request failed. Check the connection and try again.',
    AuthCodeFailed: 'Alipay did not authorize the sign-in. Try again.',
    InvalidAuthCode: 'Signing in failed. Try again.',
    SessionNotFound: 'You are signed out. Sign in again.',
    SessionExpired: 'Your session has expired. Sign in again.',
    SecurityTokenExpired: 'Your sign-in needs renewing. Try again.',
    InvalidSecurityToken: 'Your sign-in needs renewing. Try again.',
    InvalidRequest: 'The app sent something the server could not accept.',
    PayloadTooLarge: 'That is too long to save.',
    MethodNotAllowed: 'The app sent something the server could not accept.',
    NotFound: 'It is no longer there.',
    Conflict: 'It was changed elsewhere. Reload and try again.',
    QuotaExceeded: 'You have reached your limit.',
    CorruptItem: 'This item is damaged; you can delete it.',
    RateLimited: 'Too many attempts. Wait a moment and try again.',
    UpstreamUnavailable: 'The service is busy right now. Try again in a moment.',
    Misconfigured: 'The service is not set up correctly. Try again later.',
    PictureNotChosen: 'The picture could not be opened. Try another.',
    PictureUnreadable: 'The picture could not be read. Try another.',
    UploadFailed: 'The picture did not upload. Check the connection and try again.',
    Internal: 'Something went wrong. Try again.',
    other: 'Something went wrong ({code}). Try again.'
  }
};
