# Reference output for haven/trials/tests/test_mmrm.py.
#
# Unstructured-covariance MMRM by REML on the mmrm package's fev_data (shared/data/mmrm/fev_data.csv),
# fitted as the classic nlme::gls with corSymm + varIdent, with LS means and Satterthwaite degrees of
# freedom from emmeans. Run from the repository root:
#
#   Rscript haven/trials/tests/reference/mmrm_fev.R ../shared/data/mmrm/fev_data.csv haven/trials/tests/reference/mmrm_fev_us.json
#
# The versions of R, nlme, emmeans and numDeriv are written into the output beside the numbers.

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(numDeriv)
})

args <- commandArgs(trailingOnly = TRUE)
fev <- read.csv(args[[1]])
fev$USUBJID <- factor(fev$USUBJID)
fev$AVISIT <- factor(fev$AVISIT, levels = c("VIS1", "VIS2", "VIS3", "VIS4"))
fev$ARMCD <- factor(fev$ARMCD, levels = c("PBO", "TRT"))
fev$RACE <- factor(fev$RACE)
fev$SEX <- factor(fev$SEX)
fev <- fev[!is.na(fev$FEV1), ]

fit <- gls(
  FEV1 ~ ARMCD * AVISIT + RACE + SEX,
  data = fev,
  correlation = corSymm(form = ~ as.integer(AVISIT) | USUBJID),
  weights = varIdent(form = ~ 1 | AVISIT),
  method = "REML",
  control = glsControl(natural = FALSE, tolerance = 1e-10, msTol = 1e-10, maxIter = 500, msMaxIter = 500)
)

# The within-subject covariance matrix of visits 1..4 (subject PT1... any subject with all four visits
# gives the full matrix; getVarCov picks the first complete one when given its index).
complete <- names(which(table(fev$USUBJID) == 4))[1]
sigma_mat <- unclass(getVarCov(fit, individual = complete))

# LS means and contrasts. emmeans' gls Satterthwaite differentiates vcov with sigma re-profiled at each
# step while its parameter covariance (apVar) treats log(sigma) as a separate parameter, so its df are
# not the textbook (SAS PROC MIXED / mmrm package) Satterthwaite df. Estimates and SEs come from emmeans;
# the df come from the plain computation below, and emmeans' own df are stored only for information.
emm <- emmeans(fit, ~ ARMCD | AVISIT, mode = "satterthwaite")
emm_df <- as.data.frame(summary(emm, infer = c(TRUE, TRUE)))
con <- contrast(emm, "trt.vs.ctrl")
con_df <- as.data.frame(summary(con, infer = c(TRUE, TRUE)))

# Satterthwaite df written out: theta = the 10 distinct elements of the 4 x 4 covariance matrix Sigma
# (a parameterisation different from the Python code's Cholesky factor, so agreement also checks the
# invariance). W = inverse of half the numerical Hessian of -2 REML log-likelihood at the nlme
# estimate; g_j = k' dC/dtheta_j k with C(theta) = (sum_i X_i' Sigma_i^-1 X_i)^-1;
# df = 2 (k' C k)^2 / (g' W g).
X <- model.matrix(FEV1 ~ ARMCD * AVISIT + RACE + SEX, data = fev)
y <- fev$FEV1
subj <- split(seq_len(nrow(fev)), droplevels(fev$USUBJID))
vis <- as.integer(fev$AVISIT)
lt <- which(lower.tri(sigma_mat, diag = TRUE))
to_sigma <- function(theta) {
  s <- matrix(0, 4, 4)
  s[lt] <- theta
  s + t(s) - diag(diag(s))
}
precision_sums <- function(theta) {
  s <- to_sigma(theta)
  xtvx <- matrix(0, ncol(X), ncol(X))
  xtvy <- rep(0, ncol(X))
  logdet <- 0
  for (rows in subj) {
    v <- vis[rows]
    si <- solve(s[v, v, drop = FALSE])
    xi <- X[rows, , drop = FALSE]
    xtvx <- xtvx + t(xi) %*% si %*% xi
    xtvy <- xtvy + t(xi) %*% si %*% y[rows]
    logdet <- logdet + as.numeric(determinant(s[v, v, drop = FALSE])$modulus)
  }
  list(xtvx = xtvx, xtvy = xtvy, logdet = logdet)
}
reml_m2ll <- function(theta) {
  ps <- precision_sums(theta)
  beta <- solve(ps$xtvx, ps$xtvy)
  s <- to_sigma(theta)
  quad <- 0
  for (rows in subj) {
    v <- vis[rows]
    r <- y[rows] - X[rows, , drop = FALSE] %*% beta
    quad <- quad + as.numeric(t(r) %*% solve(s[v, v, drop = FALSE], r))
  }
  ps$logdet + as.numeric(determinant(ps$xtvx)$modulus) + quad
}
theta_hat <- sigma_mat[lt]
H <- numDeriv::hessian(reml_m2ll, theta_hat)
W <- solve(H / 2)
vc_vec <- function(theta) as.vector(solve(precision_sums(theta)$xtvx))
J <- numDeriv::jacobian(vc_vec, theta_hat)
p <- ncol(X)
satt_df <- function(k) {
  v <- as.numeric(t(k) %*% vcov(fit) %*% k)
  g <- vapply(seq_len(ncol(J)), function(j) {
    as.numeric(t(k) %*% matrix(J[, j], p, p) %*% k)
  }, 0)
  2 * v^2 / as.numeric(t(g) %*% W %*% g)
}
emm_L <- emm@linfct
con_L <- con@linfct
emm_satt <- apply(emm_L, 1, satt_df)
con_satt <- apply(con_L, 1, satt_df)
ci <- function(est, se, df) cbind(est - qt(0.975, df) * se, est + qt(0.975, df) * se)
emm_ci <- ci(emm_df$emmean, emm_df$SE, emm_satt)
con_ci <- ci(con_df$estimate, con_df$SE, con_satt)
con_t <- con_df$estimate / con_df$SE
con_p <- 2 * pt(-abs(con_t), con_satt)

# Type 3 F tests with Fai & Cornelius (1996) denominator df, as SAS PROC MIXED DDFM=SATTERTHWAITE and
# lmerTest: the hypothesis of each term is stated on the LS-means grid with consecutive-level
# differences (emmeans "consec"; interactions as products of the two), F = (L b)' (L C L')^-1 (L b) / q;
# with L C L' = P D P', each row of P' L gets its Satterthwaite df nu_m, E = sum nu_m / (nu_m - 2),
# df = 2 E / (E - q). emmeans' joint_tests F ratios are stored beside ours as a check of F.
fai_cornelius <- function(L) {
  L <- as.matrix(L)
  q <- nrow(L)
  lcl <- L %*% vcov(fit) %*% t(L)
  lb <- L %*% coef(fit)
  f_value <- as.numeric(t(lb) %*% solve(lcl, lb)) / q
  eig <- eigen(lcl, symmetric = TRUE)
  nu <- apply(t(eig$vectors) %*% L, 1, satt_df)
  e <- sum((nu / (nu - 2)) * (nu > 2))
  df2 <- if (e > q) 2 * e / (e - q) else NaN
  list(F = f_value, df1 = q, df2 = df2, p = pf(f_value, q, df2, lower.tail = FALSE))
}
type3_L <- list(
  ARMCD = contrast(emmeans(fit, ~ ARMCD), "consec")@linfct,
  AVISIT = contrast(emmeans(fit, ~ AVISIT), "consec")@linfct,
  RACE = contrast(emmeans(fit, ~ RACE), "consec")@linfct,
  SEX = contrast(emmeans(fit, ~ SEX), "consec")@linfct,
  "ARMCD:AVISIT" = contrast(emm, interaction = c("consec", "consec"), by = NULL)@linfct
)
joint <- as.data.frame(joint_tests(fit, mode = "satterthwaite"))
type3 <- lapply(names(type3_L), function(term) {
  res <- fai_cornelius(type3_L[[term]])
  res$emmeans_F <- joint$F.ratio[joint$`model term` == term]
  res
})
names(type3) <- names(type3_L)

# Kenward-Roger (Kenward & Roger 1997) with theta = the elements of Sigma, in which Sigma is linear
# (R_ij = 0), W as above: Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j)] Phi, and the F
# scaling and denominator df of their section 4.
phi <- vcov(fit)
q_par <- length(theta_hat)
d_sigma <- lapply(seq_len(q_par), function(j) {
  e <- rep(0, q_par)
  e[j] <- 1
  to_sigma(e)
})
P <- lapply(seq_len(q_par), function(i) matrix(0, p, p))
Q <- lapply(seq_len(q_par), function(i) lapply(seq_len(q_par), function(j) matrix(0, p, p)))
for (rows in subj) {
  v <- vis[rows]
  si <- solve(sigma_mat[v, v, drop = FALSE])
  xi <- X[rows, , drop = FALSE]
  for (i in seq_len(q_par)) {
    di <- d_sigma[[i]][v, v, drop = FALSE]
    P[[i]] <- P[[i]] - t(xi) %*% si %*% di %*% si %*% xi
    for (j in seq_len(q_par)) {
      dj <- d_sigma[[j]][v, v, drop = FALSE]
      Q[[i]][[j]] <- Q[[i]][[j]] + t(xi) %*% si %*% di %*% si %*% dj %*% si %*% xi
    }
  }
}
inner <- matrix(0, p, p)
for (i in seq_len(q_par)) for (j in seq_len(q_par)) {
  inner <- inner + W[i, j] * (Q[[i]][[j]] - P[[i]] %*% phi %*% P[[j]])
}
phi_a <- phi + 2 * phi %*% inner %*% phi
kenward_roger <- function(L) {
  L <- as.matrix(L)
  q <- nrow(L)
  theta_m <- t(L) %*% solve(L %*% phi %*% t(L)) %*% L
  f_i <- lapply(P, function(Pi) theta_m %*% phi %*% Pi %*% phi)
  a1 <- 0
  a2 <- 0
  for (i in seq_len(q_par)) for (j in seq_len(q_par)) {
    a1 <- a1 + W[i, j] * sum(diag(f_i[[i]])) * sum(diag(f_i[[j]]))
    a2 <- a2 + W[i, j] * sum(diag(f_i[[i]] %*% f_i[[j]]))
  }
  b <- (a1 + 6 * a2) / (2 * q)
  g <- ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
  den <- 3 * q + 2 * (1 - g)
  c1 <- g / den
  c2 <- (q - g) / den
  c3 <- (q + 2 - g) / den
  e_star <- 1 / (1 - a2 / q)
  v_star <- (2 / q) * (1 + c1 * b) / ((1 - c2 * b)^2 * (1 - c3 * b))
  rho <- v_star / (2 * e_star^2)
  m <- 4 + (q + 2) / (q * rho - 1)
  lambda <- m / (e_star * (m - 2))
  lb <- L %*% coef(fit)
  f_value <- lambda * as.numeric(t(lb) %*% solve(L %*% phi_a %*% t(L), lb)) / q
  list(F = f_value, df1 = q, df2 = m, p = pf(f_value, q, m, lower.tail = FALSE))
}
kr_se <- function(L) sqrt(diag(L %*% phi_a %*% t(L)))
kr <- list(
  vcov = unname(phi_a),
  lsmean_se = kr_se(emm_L), lsmean_df = apply(emm_L, 1, function(k) kenward_roger(t(k))$df2),
  contrast_se = kr_se(con_L), contrast_df = apply(con_L, 1, function(k) kenward_roger(t(k))$df2),
  type3 = lapply(type3_L, kenward_roger)
)

out <- list(
  software = list(
    R = R.version.string,
    nlme = as.character(packageVersion("nlme")),
    emmeans = as.character(packageVersion("emmeans")),
    numDeriv = as.character(packageVersion("numDeriv"))
  ),
  n_obs = nrow(fev),
  reml_loglik = as.numeric(logLik(fit)),
  coef_names = names(coef(fit)),
  coef = unname(coef(fit)),
  vcov = unname(vcov(fit)),
  covariance = unname(sigma_mat),
  emmeans = list(
    ARMCD = as.character(emm_df$ARMCD), AVISIT = as.character(emm_df$AVISIT),
    emmean = emm_df$emmean, SE = emm_df$SE, df = emm_satt,
    lower = emm_ci[, 1], upper = emm_ci[, 2], emmeans_gls_df = emm_df$df,
    linfct = unname(emm_L)
  ),
  contrasts = list(
    contrast = as.character(con_df$contrast), AVISIT = as.character(con_df$AVISIT),
    estimate = con_df$estimate, SE = con_df$SE, df = con_satt,
    lower = con_ci[, 1], upper = con_ci[, 2], t = con_t, p = con_p, emmeans_gls_df = con_df$df
  ),
  type3 = type3,
  kenward_roger = kr,
  parameter_covariance_sigma_elements = unname(W)
)

json_num <- function(x) formatC(x, digits = 15, format = "g")
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    keys <- names(x)
    parts <- vapply(seq_along(x), function(i) {
      paste0(inner, "\"", keys[[i]], "\": ", to_json(x[[i]], inner))
    }, "")
    return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
  }
  if (is.matrix(x)) {
    rows <- apply(x, 1, function(r) paste0("[", paste(json_num(r), collapse = ", "), "]"))
    return(paste0("[\n", inner, paste(rows, collapse = paste0(",\n", inner)), "\n", indent, "]"))
  }
  if (is.character(x)) {
    vals <- paste0("\"", x, "\"")
  } else {
    vals <- json_num(x)
  }
  # Length-one values are scalars here; every vector in the output has several elements.
  if (length(x) == 1) {
    return(vals)
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}
writeLines(to_json(out), args[[2]])
