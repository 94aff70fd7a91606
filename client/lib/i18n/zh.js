// 小程序中用户可见的全部文字（简体中文）。Every user-visible string of the mini program, in
// Chinese, the default (en.js has the same keys; the client tests check both tables against each
// other and against the pages). `{name}` is filled in by lib/i18n/index.js.
module.exports = {
  todos: {
    title: '待办事项',
    loading: '加载中…',
    loadingMore: '正在加载更多…',
    empty: '还没有待办事项，在下方添加第一条吧。',
    signedOut: '已退出登录。',
    signInAgain: '重新登录',
    remove: '删除',
    retry: '重试',
    add: '添加待办',
    signOut: '退出登录',
    goPro: '升级专业版',
    signedOutToast: '已退出登录',
    changedElsewhere: '这条待办已在别处修改，已为你重新加载。',
    removedElsewhere: '这条待办已在别处删除。',
    addPicture: '图片',
    uploading: '上传中…',
    viewPicture: '查看图片',
    replacePicture: '更换图片',
    removePicture: '删除图片',
    cancel: '取消',
    pictureRemoved: '图片已删除'
  },
  addTodo: {
    title: '添加待办',
    placeholder: '要做什么？',
    add: '添加',
    tapToRetry: '点击“添加”重试。',
    typeFirst: '请先输入待办内容',
    goPro: '升级专业版，保存更多待办'
  },
  pro: {
    title: '升级专业版',
    heading: '待办专业版',
    grant: '专业版提高待办数量上限，可保存更多待办事项。',
    loading: '加载中…',
    price: '￥{amount}',
    goPro: '升级专业版',
    checkAgain: '再次查询',
    active: '你已是专业版用户，更高的待办数量上限已生效。',
    limit: '你最多可保存 {quota} 条待办，已有 {used} 条。',
    limitWithPro: '你最多可保存 {quota} 条待办（其中 {granted} 条来自专业版），已有 {used} 条。',
    paid: '支付成功，已升级专业版',
    pending: '支付宝尚未确认这笔支付，请稍后再次查询。',
    cancelled: '已取消支付，未扣款。',
    failed: '支付未成功，未扣款。',
    closed: '该订单已关闭，点击“升级专业版”重新开始。'
  },
  // 按错误代码（shared/miniapp/errors.py、函数计算和客户端自己的）；未列出的代码用 `other`。
  errors: {
    NetworkError: '网络请求失败，请检查网络后重试。',
    AuthCodeFailed: '支付宝未授权登录，请重试。',
    InvalidAuthCode: '登录失败，请重试。',
    SessionNotFound: '你已退出登录，请重新登录。',
    SessionExpired: '登录已过期，请重新登录。',
    SecurityTokenExpired: '登录凭证需要更新，请重试。',
    InvalidSecurityToken: '登录凭证需要更新，请重试。',
    InvalidRequest: '请求无效，服务器无法处理。',
    PayloadTooLarge: '内容太长，无法保存。',
    MethodNotAllowed: '请求无效，服务器无法处理。',
    NotFound: '内容已不存在。',
    Conflict: '内容已在别处修改，请刷新后重试。',
    QuotaExceeded: '已达到上限。',
    CorruptItem: '这条内容已损坏，可以删除。',
    RateLimited: '尝试次数过多，请稍后再试。',
    UpstreamUnavailable: '服务暂时繁忙，请稍后重试。',
    Misconfigured: '服务配置有误，请稍后再试。',
    PictureNotChosen: '无法打开这张图片，请换一张。',
    PictureUnreadable: '无法读取这张图片，请换一张。',
    UploadFailed: '图片上传失败，请检查网络后重试。',
    Internal: '出了点问题，请重试。',
    other: '出了点问题（{code}），请重试。'
  }
};
